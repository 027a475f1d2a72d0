"""Structured JSON logs, one shape on both hosts, with no prompt or answer text at the default level.

Every log record in the process (the kit's, uvicorn's, MLflow's, Strands', botocore's) goes through
one handler: Powertools' `Logger` for the service, whose `LambdaPowertoolsFormatter` writes one JSON
object per line to stdout. On Lambda `inject_lambda_context` adds the invocation's context
(`function_request_id`, `cold_start`, `function_name`, ...) to every line; under uvicorn the same
formatter runs without it. `RequestLog` writes one line per HTTP request (method, path, status,
duration; a passing `/health` check only at DEBUG), and every line logged while a request runs
carries its `request_id`, `session_id` and `trace_id` (the MLflow trace id the API returns, once
the turn has one).

Content: Strands' SageMaker provider logs the whole request payload (system prompt, history, the
user's prompt), tool calls and the whole response at INFO, each payload part at DEBUG, and raw model
output or tool input in some WARNINGs (`strands/models/sagemaker.py`, `strands/event_loop/
streaming.py`); botocore logs request and response bodies at DEBUG. Those loggers (`PAYLOAD_LOGGERS`)
are held at WARNING, and the arguments of Strands' own records are replaced by the message template,
unless `AGENT_PAYLOAD_LOG_LEVEL` is set below WARNING for debugging. The SageMaker provider also
pretty-prints those payloads (per model call, and per streamed chunk) before it knows whether the
line is wanted; `defer_provider_payload_formatting` makes that work happen only for a line written.

Settings (read from the environment, before any request):
  AGENT_LOG_LEVEL          level of every other logger (default INFO)
  AGENT_PAYLOAD_LOG_LEVEL  level of `PAYLOAD_LOGGERS` (default: WARNING, or AGENT_LOG_LEVEL if higher);
                           below WARNING it logs prompts, answers and tool data: debugging only
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import os
import sys
import time

from agent_runtime.metrics import SERVICE

PAYLOAD_LOGGERS = ("strands", "botocore")
ACCESS_LOGGERS = ("mangum.http",)  # Mangum's "POST /invoke 200" on Lambda: RequestLog's line replaces it
_REDACTED_PREFIX = "strands"  # whose records interpolate payloads even at WARNING
_IDS: contextvars.ContextVar[dict | None] = contextvars.ContextVar("agent_log_ids", default=None)
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_logger = None  # the Powertools Logger, once configured


class _Stdout:
    """Whatever `sys.stdout` is when a line is written, not when logging was set up (pytest swaps it)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def level_from_env(name: str, default: str) -> int:
    value = os.environ.get(name, "").strip().upper() or default
    if value not in _LEVELS:
        raise ValueError(f"{name}={os.environ[name]!r} is not a log level; use one of {', '.join(_LEVELS)}.")
    return logging.getLevelName(value)


def configure_logging():
    """Route every logger in the process to one Powertools JSON handler (idempotent).

    Returns the Powertools `Logger` (its `inject_lambda_context` wraps the Lambda handler).
    """
    global _logger
    if _logger is not None:
        return _logger
    level = level_from_env("AGENT_LOG_LEVEL", "INFO")
    payload_level = level_from_env("AGENT_PAYLOAD_LOG_LEVEL", logging.getLevelName(max(level, logging.WARNING)))
    # MLflow otherwise gives its loggers their own plain-text stderr handler and stops propagation.
    os.environ.setdefault("MLFLOW_CONFIGURE_LOGGING", "false")

    from aws_lambda_powertools import Logger

    mlflow_logger = logging.getLogger("mlflow")  # in case mlflow was imported (and configured) first
    mlflow_logger.handlers.clear()
    mlflow_logger.propagate = True
    root = logging.getLogger()
    # Lambda's runtime puts its own text handler on the root logger (awslambdaric's `_setup_logging`,
    # https://github.com/aws/aws-lambda-python-runtime-interface-client): every record would be
    # written twice, once not as JSON. pytest's capture handlers stay (tests run it in-process).
    for handler in list(root.handlers):
        if type(handler).__module__ != "_pytest.logging":
            root.removeHandler(handler)
    # Created after that clean-up: Powertools adds a filter to the root's handlers that drops every
    # record whose logger name contains the service name ("agent" is in "agent_runtime").
    _logger = Logger(
        service=SERVICE, level=level, stream=_Stdout(), utc=True, use_rfc3339=True, name="%(name)s"
    )  # the emitting logger's name: which library wrote the line
    handler = _logger.registered_handler
    handler.addFilter(_bind_ids)
    if payload_level >= logging.WARNING:
        handler.addFilter(_redact_payloads)
    logging.getLogger(SERVICE).propagate = False  # the service logger has the handler already
    root.addHandler(handler)
    root.setLevel(level)
    for name in PAYLOAD_LOGGERS:
        logging.getLogger(name).setLevel(payload_level)
    for name in ACCESS_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    logging.captureWarnings(True)  # `warnings` too, as JSON lines rather than raw stderr text
    return _logger


def _bind_ids(record: logging.LogRecord) -> bool:
    """Add the current request's ids to the record (Powertools serialises extra attributes)."""
    record.__dict__.pop("color_message", None)  # uvicorn's ANSI-coloured copy of the message
    ids = _IDS.get()
    if ids:
        for key, value in ids.items():
            if value is not None and not hasattr(record, key):
                setattr(record, key, value)
    return True


def _redact_payloads(record: logging.LogRecord) -> bool:
    """Strands interpolates payload, tool input and model output into its messages: keep the template."""
    if record.name == _REDACTED_PREFIX or record.name.startswith(_REDACTED_PREFIX + "."):
        if record.args or not isinstance(record.msg, str):
            record.msg = record.msg if isinstance(record.msg, str) else "<redacted>"
            record.args = ()
            record.redacted = True
    return True


class _DeferredJson:
    """`json.dumps(...)` run when a log line is written (`str()`), not when the call is made."""

    __slots__ = ("_args", "_kwargs")

    def __init__(self, args: tuple, kwargs: dict) -> None:
        self._args, self._kwargs = args, kwargs

    def __str__(self) -> str:
        return json.dumps(*self._args, **self._kwargs)


class _ProviderJson:
    """Stands in for the `json` module inside `strands.models.sagemaker`.

    That module pretty-prints (`json.dumps(..., indent=2)`) the whole request payload on every model
    call, and every streamed chunk, as the *argument* of log calls (`logger.info("payload=<%s>",
    json.dumps(payload, indent=2))`), so the work is done even when those loggers are off, as they
    are by default (`PAYLOAD_LOGGERS`): with `indent` Python's pure-Python encoder runs, ~0.3 ms for
    a fresh session's payload and ~10 us per token chunk, growing with the history and the answer.
    Here an indented dump is deferred until a handler formats the line; the module's other uses of
    `json` (the request body: no `indent`) are the real module's. A test checks that the module
    uses `indent` in log arguments only.
    """

    def __getattr__(self, name: str):
        return getattr(json, name)

    @staticmethod
    def dumps(*args, **kwargs):
        if kwargs.get("indent") is None:
            return json.dumps(*args, **kwargs)
        return _DeferredJson(args, kwargs)


def defer_provider_payload_formatting() -> None:
    """Install `_ProviderJson` in Strands' SageMaker provider (idempotent; imports the provider)."""
    import strands.models.sagemaker as provider

    if not isinstance(provider.json, _ProviderJson):
        provider.json = _ProviderJson()


def bind(**ids: str | None) -> None:
    """Attach ids to the request being served (no-op outside a request)."""
    current = _IDS.get()
    if current is not None:
        current.update({key: value for key, value in ids.items() if value is not None})


class RequestLog:
    """ASGI middleware: one JSON line per HTTP request, and the request's ids on every line logged
    while it runs (uvicorn's own access log is off: it would carry neither)."""

    def __init__(self, app) -> None:
        self.app = app
        self.log = logging.getLogger(SERVICE)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # One mutable dict per request: the handlers bind ids into it from their own (copied) contexts.
        ids = {"request_id": None, "session_id": None, "trace_id": None, "caller_id": None}
        token = _IDS.set(ids)
        status, started = 500, time.perf_counter()

        async def send_status(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        except asyncio.CancelledError:
            status = 499  # the client went away
            raise
        finally:
            # A load balancer's health checks would add a line every few seconds per task.
            quiet = scope["path"] == "/health" and status == 200
            self.log.log(
                logging.DEBUG if quiet else logging.INFO,
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            _IDS.reset(token)
