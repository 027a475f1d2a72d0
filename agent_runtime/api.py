"""The HTTP API: `POST /invoke`, `POST /invoke/stream` (SSE), `GET /health`.

One ASGI app for both targets: uvicorn serves it on Fargate (`python -m agent_runtime`), Mangum
adapts Lambda events to it (`agent_runtime.lambda_handler.handler`). Every error is a JSON body
with a fitting status; a client that disconnects cancels the agent's work.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from agent_runtime.errors import ApiError
from agent_runtime.service import AgentService
from agent_runtime.settings import RuntimeSettings

log = logging.getLogger(__name__)


def create_app(settings: RuntimeSettings | None = None, service: AgentService | None = None) -> Starlette:
    service = service or AgentService(settings or RuntimeSettings())
    body_limit = service.settings.max_prompt_chars * 4 + 4096  # UTF-8 worst case plus the envelope

    async def parse(request: Request):
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > body_limit:
            raise ApiError(413, "RequestTooLarge", f"request body exceeds {body_limit} bytes.")
        raw = await request.body()
        if len(raw) > body_limit:
            raise ApiError(413, "RequestTooLarge", f"request body exceeds {body_limit} bytes.")
        try:
            body = json.loads(raw or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ApiError(400, "InvalidJson", "request body must be a JSON object.") from None
        if not isinstance(body, dict):
            raise ApiError(400, "InvalidJson", "request body must be a JSON object.")
        unknown = set(body) - {"prompt", "session_id"}
        if unknown:
            raise ApiError(400, "UnknownField", f"unknown field(s): {', '.join(sorted(unknown))}.")
        return service.request(body.get("prompt"), body.get("session_id"), request.headers.get("x-request-id"))

    async def invoke(request: Request) -> Response:
        try:
            turn = await parse(request)
            final = await _until_disconnected(request, _last(service.turn(turn)))
        except ApiError as error:
            return _error(error)
        final.pop("type")
        return JSONResponse(final, headers={"x-request-id": turn.request_id})

    async def invoke_stream(request: Request) -> Response:
        try:
            turn = await parse(request)
        except ApiError as error:
            return _error(error)
        return StreamingResponse(
            _sse(service.turn(turn)),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-request-id": turn.request_id},
        )

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "agent_version": service.agent_version,
                             "endpoint": service.settings.endpoint_name, "env": service.settings.env_name,
                             "tracing": service.lineage.status})

    async def not_found(request: Request, exc) -> Response:
        return _error(ApiError(404, "NotFound", f"no route {request.method} {request.url.path}"))

    async def method_not_allowed(request: Request, exc) -> Response:
        return _error(ApiError(405, "MethodNotAllowed", f"{request.method} is not allowed on {request.url.path}"))

    async def internal(request: Request, exc) -> Response:
        log.exception("unhandled error")
        return _error(ApiError(500, "InternalError", "The agent failed unexpectedly."))

    app = Starlette(
        routes=[
            Route("/invoke", invoke, methods=["POST"]),
            Route("/invoke/stream", invoke_stream, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ],
        exception_handlers={404: not_found, 405: method_not_allowed, Exception: internal},
    )
    app.state.service = service
    return app


def _error(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers())


async def _last(events: AsyncIterator[dict]) -> dict:
    final = {}
    async for event in events:
        final = event
    return final


async def _until_disconnected(request: Request, work):
    """Run `work`, cancelling it if the client disconnects first."""
    task = asyncio.ensure_future(work)
    while not task.done():
        done, _ = await asyncio.wait({task}, timeout=0.25)
        if not done and await request.is_disconnected():
            task.cancel()
            break
    return await task


async def _sse(events: AsyncIterator[dict]) -> AsyncIterator[str]:
    # StreamingResponse cancels this generator when the client disconnects.
    try:
        async for event in events:
            kind = event.pop("type")
            yield f"event: {kind}\ndata: {json.dumps(event)}\n\n"
    except ApiError as error:
        yield f"event: error\ndata: {json.dumps({**error.body(), 'status': error.status})}\n\n"
