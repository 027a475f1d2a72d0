"""Lambda entry point: Function URL / API Gateway events -> the same ASGI app as on Fargate.

Chosen: the Lambda Runtime Interface Client with Mangum, rather than Lambda Web Adapter. Mangum
is a Python package (testable here with real event payloads, no extension binary in the image)
and keeps one code path: the Starlette app. The cost: Lambda returns a buffered response, so
`/invoke/stream` arrives as one complete SSE body on Lambda (token streaming needs Fargate, or
LWA with RESPONSE_STREAM). Traces are flushed by the service before each response returns.
"""

from __future__ import annotations

from mangum import Mangum

from agent_runtime.api import create_app
from agent_runtime.logging_setup import configure_logging

# log_event=False whatever POWERTOOLS_LOGGER_LOG_EVENT says: the event's body is the user's prompt.
handler = configure_logging().inject_lambda_context(Mangum(create_app(), lifespan="off"), log_event=False)
