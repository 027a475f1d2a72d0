"""Lambda entry point: Function URL / API Gateway events -> the same ASGI app as on Fargate.

Chosen: the Lambda Runtime Interface Client with Mangum, rather than Lambda Web Adapter. Mangum
is a Python package (testable here with real event payloads, no extension binary in the image)
and keeps one code path: the Starlette app. The cost: Lambda returns a buffered response, so
`/invoke/stream` arrives as one complete SSE body on Lambda (token streaming needs Fargate, or
LWA with RESPONSE_STREAM).

Importing this module is Lambda's init, which is limited to 10 s and billed
(https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html, "Init phase"): it
only builds the service (~0.5 s: Strands, settings, tools). MLflow set-up starts in a background
thread (agent_runtime/lineage.py): it neither lengthens init nor holds a request. On Lambda (the
AWS_LAMBDA_FUNCTION_NAME variable) MLflow's async trace export is turned off, so each trace is
exported as its root span ends, before the response returns: the environment may freeze then.
"""

from __future__ import annotations

from mangum import Mangum

from agent_runtime.api import create_app
from agent_runtime.logging_setup import configure_logging

# log_event=False whatever POWERTOOLS_LOGGER_LOG_EVENT says: the event's body is the user's prompt.
handler = configure_logging().inject_lambda_context(Mangum(create_app(), lifespan="off"), log_event=False)
