"""Lambda entry point: Function URL / API Gateway events -> the same ASGI app as on Fargate.

Chosen: the Lambda Runtime Interface Client with Mangum, rather than Lambda Web Adapter. Mangum
is a Python package (testable here with real event payloads, no extension binary in the image)
and keeps one code path: the Starlette app. The cost: Lambda returns a buffered response, so
`/invoke/stream` arrives as one complete SSE body on Lambda (token streaming needs Fargate, or
LWA with RESPONSE_STREAM).

Importing this module is Lambda's init, which is limited to 10 s and billed
(https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html, "Init phase"): it
only builds the service (~0.5 s: Strands, settings, tools). MLflow set-up (agent_runtime/lineage.py)
runs in the extension's post-response time of the first invocation, waited for up to
`SETUP_WAIT_SECONDS`: it neither lengthens init nor competes with the first request for the GIL;
the first request of an environment is answered untraced (counted: `Untraced`), the next ones are
traced. Without the extension it starts in the background at init, as under uvicorn.

Traces leave after the response. MLflow exports them from its background threads, and Lambda may
freeze the environment once the runtime *and every extension* have called `Next`
(agent_runtime/lambda_extension.py has the lifecycle, with the AWS documentation). So init registers
an internal extension (a thread of this process, `POST /2020-01-01/extension/register` with events
`["INVOKE"]`); after each invocation's handler has returned, and the runtime has posted the
response to the caller, the extension drains MLflow's export queue (`Lineage.drain`, bounded by
the invocation's deadline less a margin) and only then calls `Next`. The caller does not wait for
the export; it is billed (`PostRuntimeExtensionsDuration`) and counts against the function's
timeout. Without `AWS_LAMBDA_RUNTIME_API` (the handler called directly, as some tests do) or if
registration fails, the handler drains before it returns instead: slower, never a lost trace.
"""

from __future__ import annotations

import logging
import os
import time

from mangum import Mangum

from agent_runtime.api import create_app
from agent_runtime.lambda_extension import DEADLINE_MARGIN_SECONDS, PostResponseWork
from agent_runtime.logging_setup import configure_logging
from agent_runtime.service import AgentService
from agent_runtime.settings import RuntimeSettings

log = logging.getLogger(__name__)
DRAIN_LIMIT_SECONDS = 10  # the fallback's bound when the context gives no remaining time
# How long the first post-response moment waits for MLflow set-up (≈ 1.5–2 s when healthy); a set-up
# still running then finishes in the background, on the environment's next thaw.
SETUP_WAIT_SECONDS = 5


class TracedHandler:
    """Mangum's handler, followed by the trace export: after the response (extension) or before it."""

    def __init__(self, runtime_api: str | None, settings: RuntimeSettings | None = None) -> None:
        self._extension: PostResponseWork | None = None
        if runtime_api:
            extension = PostResponseWork(runtime_api, self._after_response)
            try:
                extension.start()  # during init: registration is refused after the runtime's first Next
                self._extension = extension
            except (OSError, RuntimeError):
                log.warning(
                    "could not register the trace-export extension; traces are exported before each response instead",
                    exc_info=True,
                )
        # With the extension, MLflow set-up waits for the first post-response moment (lineage.py).
        service = AgentService(settings or RuntimeSettings(), hold_tracing_setup=self._extension is not None)
        self.app = create_app(service=service)  # what the tests and benchmark reach the service through
        self._mangum = Mangum(self.app, lifespan="off")
        self._lineage = service.lineage

    def __call__(self, event, context):
        try:
            return self._mangum(event, context)
        finally:
            if self._extension is not None and self._extension.running:
                self._extension.finished(context.aws_request_id)
            else:
                self._lineage.drain(_seconds_left(context))

    def _after_response(self, seconds_left: float) -> None:
        """The extension's work after each response, before Lambda may freeze the environment."""
        deadline = time.monotonic() + seconds_left
        if self._lineage.held:  # the first invocation: set MLflow up now, while nothing else runs
            self._lineage.set_up_now(min(seconds_left, SETUP_WAIT_SECONDS))
        self._lineage.drain(max(0.0, deadline - time.monotonic()))


def _seconds_left(context) -> float:
    try:
        return max(0.0, context.get_remaining_time_in_millis() / 1000 - DEADLINE_MARGIN_SECONDS)
    except (AttributeError, TypeError):
        return DRAIN_LIMIT_SECONDS


# log_event=False whatever POWERTOOLS_LOGGER_LOG_EVENT says: the event's body is the user's prompt.
handler = configure_logging().inject_lambda_context(
    TracedHandler(os.environ.get("AWS_LAMBDA_RUNTIME_API")), log_event=False
)
