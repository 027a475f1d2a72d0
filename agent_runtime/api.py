"""The HTTP API: `POST /invoke`, `POST /invoke/stream` (SSE), `GET /health`.

One ASGI app for both targets: uvicorn serves it on Fargate (`python -m agent_runtime`), Mangum
adapts Lambda events to it (`agent_runtime.lambda_handler.handler`). Every error is a JSON body
with a fitting status; a client that disconnects cancels the agent's work.

A turn is admitted in this order, and a refused one never touches a session's history:
1. the caller is authenticated (agent_runtime.identity): 401 otherwise;
2. the body is parsed (400, 413); no `session_id` starts a new session. It is read no further than
   its limit: a bigger one answers 413 as soon as it passes it, declared (Content-Length) or not
   (chunked), and the connection is closed rather than read to the body's end;
3. a worker slot: at most `max_concurrent_sessions` turns in a worker, then 503 with Retry-After
   (agent_runtime.concurrency);
4. a given `session_id` must name one of this caller's sessions (404), then one of the caller's
   `max_turns_per_caller` slots, across workers: 429 with Retry-After (AgentService.admit);
5. the session's lock (409), then the turn (agent_runtime.service).

Steps 3-4 take the turn's two slots; one object holds them (`TurnSlots`) and gives them back, caller
slot first, then worker slot, once: `/invoke` when its turn ends, `/invoke/stream` just before its
last event (or when its response ends, if the client left first or the body never started).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from agent_runtime.concurrency import SessionAdmission, install_executor, report_sessions
from agent_runtime.errors import ApiError
from agent_runtime.identity import Authenticator
from agent_runtime.logging_setup import RequestLog, bind
from agent_runtime.service import AgentService, TurnRequest
from agent_runtime.sessions import Held
from agent_runtime.settings import RuntimeSettings
from agent_runtime.storage_calls import hold, off_loop

log = logging.getLogger(__name__)


def create_app(settings: RuntimeSettings | None = None, service: AgentService | None = None) -> Starlette:
    api = _AgentApi(service or AgentService(settings or RuntimeSettings()))
    app = Starlette(
        lifespan=api.lifespan,
        routes=[
            Route("/invoke", api.invoke, methods=["POST"]),
            Route("/invoke/stream", api.invoke_stream, methods=["POST"]),
            Route("/health", api.health, methods=["GET"]),
        ],
        exception_handlers={404: _not_found, 405: _method_not_allowed, Exception: _internal},
    )
    app.add_middleware(RequestLog)  # one structured log line per request, ids on every line
    app.state.service = api.service
    app.state.admission = api.admission
    return app


class _AgentApi:
    """The routes' handlers, and what they share: the service, the worker's session admission, the
    authenticator."""

    def __init__(self, service: AgentService) -> None:
        self.service = service
        self.settings = settings = service.settings
        self.body_limit = settings.max_prompt_chars * 4 + 4096  # UTF-8 worst case plus the envelope
        self.admission = SessionAdmission(settings.max_concurrent_sessions)
        self.authenticator = Authenticator(settings)  # checks the identity settings: a misconfiguration stops start-up

    async def blocking(self, function, *args):
        # Storage calls (S3 or files) leave the event loop, in one place: agent_runtime.storage_calls.
        return await off_loop(function, *args)

    async def admitted(self, request: Request) -> tuple[TurnRequest, TurnSlots]:
        """Steps 1-4 of the module docstring; the caller gives the slots back with `await slots.release()`."""
        caller = await self.authenticator.authenticate(request)
        bind(caller_id=caller.caller_id)  # onto every log line of this request
        turn = await self.parse(request, caller.caller_id)
        # `hold`: a client gone while the caller slot is being taken does not leave it held until it expires.
        admit = functools.partial(self.service.admit, turn)
        slots = await TurnSlots.take(self.admission, lambda: hold(admit), self.blocking)
        return turn, slots

    async def parse(self, request: Request, caller_id: str) -> TurnRequest:
        raw = await self.read_body(request)
        try:
            body = json.loads(raw or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ApiError(400, "InvalidJson", "request body must be a JSON object.") from None
        if not isinstance(body, dict):
            raise ApiError(400, "InvalidJson", "request body must be a JSON object.")
        unknown = set(body) - {"prompt", "session_id"}
        if unknown:
            raise ApiError(400, "UnknownField", f"unknown field(s): {', '.join(sorted(unknown))}.")
        turn = self.service.request(
            body.get("prompt"), body.get("session_id"), request.headers.get("x-request-id"), caller_id
        )
        bind(request_id=turn.request_id, session_id=turn.session_id)  # onto this request's log lines
        return turn

    async def read_body(self, request: Request) -> bytes:
        """The body, read no further than `body_limit`: beyond it, 413 RequestTooLarge at once.

        A chunked body declares no length, and `request.body()` would hold all of it in memory before
        any check. Under uvicorn each chunk is what arrived (uvicorn stops reading the socket while it
        holds 64 KiB the app has not taken), so the worker holds at most the limit plus one chunk.
        Under Mangum the event carries the whole body (within Lambda's payload limit) as one chunk:
        the same count refuses it. The 413 says `Connection: close`: uvicorn would otherwise keep the
        connection and read the rest of the body (to throw it away) before the next request; closed,
        a client that keeps sending gets the 413 and a reset, and the worker reads no more of it."""
        limit = self.body_limit
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise _too_large(limit)
        body = bytearray()
        try:
            async with contextlib.aclosing(request.stream()) as chunks:  # closed now, also when refused midway
                async for chunk in chunks:
                    body += chunk
                    if len(body) > limit:
                        raise _too_large(limit)
        except ClientDisconnect:
            # The client left before its body's end: nobody reads the answer. Not the agent's failure (it
            # was answered 500 and logged as unhandled); 499, as a turn whose client went away.
            raise ApiError(499, "ClientClosedRequest", "the client closed the connection mid-body.") from None
        return bytes(body)

    async def invoke(self, request: Request) -> Response:
        try:
            turn, slots = await self.admitted(request)
            async with slots:
                final = await _until_disconnected(request, _last(self.service.turn(turn)))
        except ApiError as error:
            return _error(error)
        final.pop("type")
        bind(trace_id=final.get("trace_id"))
        return JSONResponse(final, headers={"x-request-id": turn.request_id})

    async def invoke_stream(self, request: Request) -> Response:
        try:
            turn, slots = await self.admitted(request)
        except ApiError as error:
            return _error(error)
        return _AdmittedStream(
            _sse(self.service.turn(turn), before_last=slots.release),
            slots,
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-request-id": turn.request_id},
        )

    async def health(self, request: Request) -> Response:
        service, settings = self.service, self.settings
        return JSONResponse(
            {
                "status": "ok",
                "agent_version": service.agent_version,
                "endpoint": settings.endpoint_name,
                "env": settings.env_name,
                "sessions": {"in_flight": self.admission.in_flight, "limit": self.admission.limit},
                "tracing": service.lineage.status,
            }
        )

    @contextlib.asynccontextmanager
    async def lifespan(self, app):
        # Runs under uvicorn (Fargate, `make local`). Mangum runs the app with lifespan="off": Lambda
        # gives an environment one request at a time, which the default executor serves.
        settings = self.settings
        install_executor(asyncio.get_running_loop(), settings.max_concurrent_sessions)
        reporter = (
            asyncio.create_task(report_sessions(settings, self.admission)) if settings.sessions_metric_seconds else None
        )
        try:
            yield
        finally:
            if reporter:
                reporter.cancel()


async def _not_found(request: Request, exc) -> Response:
    return _error(ApiError(404, "NotFound", f"no route {request.method} {request.url.path}"))


async def _method_not_allowed(request: Request, exc) -> Response:
    return _error(ApiError(405, "MethodNotAllowed", f"{request.method} is not allowed on {request.url.path}"))


async def _internal(request: Request, exc) -> Response:
    log.exception("unhandled error")
    return _error(ApiError(500, "InternalError", "The agent failed unexpectedly."))


class TurnSlots:
    """The two slots a turn holds, and their one owner: this worker's (`SessionAdmission`, step 3 of
    the module docstring) and the caller's (the `Held` that `AgentService.admit` returns, step 4).

    `take` takes them in that order; `release` gives them back in the reverse order, the caller slot,
    then the worker slot (as the code before this class did), each exactly once, however many times
    it is called and whoever calls it: a stream releases before its last event and again when its
    response ends. Built on an AsyncExitStack, which pops each callback before running it, so a second
    `release` finds nothing to do, and runs every callback even when an earlier one fails or is
    cancelled (the caller slot's release leaving the event loop when the client leaves)."""

    def __init__(self, stack: contextlib.AsyncExitStack) -> None:
        self._stack = stack

    @classmethod
    async def take(
        cls,
        admission: SessionAdmission,
        admit: Callable[[], Awaitable[Held]],
        blocking: Callable[..., Awaitable[Any]],
    ) -> TurnSlots:
        """The worker slot (503 when full), then `admit()`: the session check (404) and the caller slot
        (429). A refusal of `admit` gives the worker slot back before it propagates."""
        async with contextlib.AsyncExitStack() as stack:
            admission.enter()
            stack.callback(admission.leave)
            held = await admit()
            stack.push_async_callback(blocking, held.release)  # S3 on AWS: off the event loop
            return cls(stack.pop_all())  # both taken: from here on, the slots' owner releases them

    async def release(self) -> None:
        await self._stack.aclose()

    async def __aenter__(self) -> TurnSlots:
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.release()  # returns None: an exception passes through unchanged (a frozen ApiError too)


class _AdmittedStream(StreamingResponse):
    """A stream that holds its slots (worker and caller) until it ends, however it ends. `_sse` gives
    them back just before the last event (final or error); this gives them back when the client
    left first or the body never started (a generator that never started never runs its `finally`)."""

    def __init__(self, content, slots: TurnSlots, **kwargs) -> None:
        super().__init__(content, **kwargs)
        self._slots = slots

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._slots.release()  # nothing left to do if `_sse` gave them back already


Release = Callable[[], Awaitable[None]]


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "RequestTooLarge",
        f"request body exceeds {limit} bytes.",
        # The rest of the body stays unread: the connection cannot carry another request (see read_body).
        extra_headers=(("connection", "close"),),
    )


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


async def _sse(events: AsyncIterator[dict], before_last: Release) -> AsyncIterator[str]:
    """Server-sent events. A client that has read the last event (final or error) may start its next
    turn at once, so the turn's slots are given back before that event is sent."""
    # StreamingResponse cancels this generator when the client disconnects.
    try:
        async for event in events:
            kind = event.pop("type")
            if kind == "final":
                await before_last()
                bind(trace_id=event.get("trace_id"))
            yield f"event: {kind}\ndata: {json.dumps(event)}\n\n"
    except ApiError as error:
        await before_last()
        # The status line went out before the turn ran: the event carries the status, and the Retry-After
        # the JSON route sends as a header (seconds), when there is one.
        event = {**error.body(), "status": error.status}
        if error.retry_after:
            event["retry_after"] = error.retry_after
        yield f"event: error\ndata: {json.dumps(event)}\n\n"
