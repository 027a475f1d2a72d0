"""One agent turn: admission (the caller's session exists, a caller slot), session lock, Strands agent
with the session's history, limits, tracing, metrics.

Shared by the HTTP app (`api.py`) whether it runs under uvicorn (Fargate) or Mangum (Lambda), so
both deployments take exactly the same code path.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from agent_runtime.errors import ApiError, from_exception
from agent_runtime.lineage import Lineage
from agent_runtime.metrics import RequestMetrics, publish
from agent_runtime.sessions import (
    Held,
    caller_slot,
    new_session_id,
    session_exists,
    session_lock,
    session_manager,
    session_not_found,
    validate_session_id,
)
from agent_runtime.settings import RuntimeSettings
from agent_runtime.storage_calls import hold, off_loop
from agent_runtime.tools import load_tools, tool_specs
from agent_runtime.turn_writes import TurnWrites
from agent_runtime.version import agent_version

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TurnRequest:
    prompt: str
    session_id: str
    request_id: str
    caller_id: str
    new_session: bool  # the server issued `session_id` for this request


class AgentService:
    def __init__(self, settings: RuntimeSettings, *, hold_tracing_setup: bool = False) -> None:
        self.settings = settings
        self.tools = load_tools(settings.tools)
        self.tool_specs = tool_specs(self.tools)
        self.agent_version = agent_version(settings, self.tool_specs)
        self.lineage = Lineage(settings, self.agent_version, self.tool_specs, held=hold_tracing_setup)
        self.lineage.start()  # MLflow set-up in the background (unless held): never on a request's path
        self._model = None
        self._ready = asyncio.Lock()
        self._started = False

    def request(self, prompt: object, session_id: object, request_id: str | None, caller_id: str) -> TurnRequest:
        if not isinstance(prompt, str) or not prompt.strip():
            raise ApiError(400, "InvalidPrompt", "prompt must be a non-empty string.")
        if len(prompt) > self.settings.max_prompt_chars:
            raise ApiError(413, "PromptTooLarge", f"prompt exceeds {self.settings.max_prompt_chars} characters.")
        session_id = validate_session_id(session_id)
        return TurnRequest(
            prompt,
            session_id or new_session_id(),
            request_id or str(uuid.uuid4()),
            caller_id,
            new_session=session_id is None,
        )

    def admit(self, request: TurnRequest) -> Held:
        """Blocking (storage; call it through agent_runtime.storage_calls.hold): 404 unless the session
        is this caller's, then one of the caller's turn slots (429 when all are taken). Before the
        session's lock and its manager: a refused request neither creates nor touches a session."""
        if not request.new_session and not session_exists(self.settings, request.caller_id, request.session_id):
            raise session_not_found()
        return caller_slot(self.settings, request.caller_id)

    async def _start(self) -> None:
        """First request only: the model client (kept out of import time)."""
        async with self._ready:
            if self._started:
                return
            from agent_runtime.model import build_model

            self._model = await asyncio.to_thread(build_model, self.settings)
            self._started = True

    async def turn(self, request: TurnRequest) -> AsyncIterator[dict]:
        """Yield `{"type": "token", "text"}` events, then one `{"type": "final", ...}` event.

        Raises ApiError (already mapped to an HTTP status) on failure; the session's stored
        history only ever gains complete turns.
        """
        await self._start()
        self.lineage.start()  # no-op once set up; otherwise retries set-up (at most once a minute), never waits
        state = _Turn.begin(self.settings)
        try:
            # The lock and the agent (whose construction loads the session) in one trip off the event loop.
            held = await hold(functools.partial(self._open, request, state))
            try:
                agent = state.agent
                # Closed with the turn: a client that goes away stops the model's stream too.
                async with contextlib.aclosing(self._stream(agent, request, state)) as tokens:
                    async for token in tokens:
                        yield token
                # The turn has answered: only now does the session gain it, and then the lock is free.
                await off_loop(self._close, state, held)  # one trip off the loop for both
                final = self._final_event(request, agent, state)
                final["trace_id"] = await state.tagger.stored_trace_id()
            finally:
                if not held.released:  # the turn failed or was cancelled before _close
                    await off_loop(held.release)
        except ApiError as error:
            state.metrics.status = error.status
            raise
        except (asyncio.CancelledError, GeneratorExit):
            state.metrics.status = 499  # the client went away; its work is cancelled with it
            raise
        except BaseException as error:
            mapped = from_exception(error)
            state.metrics.status = mapped.status
            if mapped.status >= 500:
                log.warning("request %s failed: %s", request.request_id, mapped.code, exc_info=True)
            raise mapped from None
        finally:
            self._publish(state)
        yield final

    # -- the steps of a turn ----------------------------------------------------------------------

    def _tagger(self, request: TurnRequest, state: _Turn):
        """Tags the turn's trace with the request's ids, and at its end with its counts."""
        limits, metrics = state.limits, state.metrics
        return self.lineage.tagger(
            {"session_id": request.session_id, "request_id": request.request_id, "caller_id": request.caller_id},
            final_tags=lambda: {
                "model_calls": str(limits.model_calls),
                "tool_calls": str(limits.tool_calls),
                "limit_hit": limits.limit_hit or "",
                "time_to_first_token_ms": f"{metrics.time_to_first_token_ms or 0:.1f}",
            },
        )

    def _open(self, request: TurnRequest, state: _Turn) -> Held:
        """Blocking (storage): the session's lock (409 when busy), then the trace tagger and the agent
        with its history in `state`. The lock is given back if the agent cannot be built."""
        held = session_lock(self.settings, request.caller_id, request.session_id)
        try:
            state.tagger = self._tagger(request, state)
            state.agent = self._agent(request, state)
        except BaseException:
            held.release()
            raise
        return held

    @staticmethod
    def _close(state: _Turn, held: Held) -> None:
        """Blocking (storage): the turn's writes, then the lock's release. Each trip off the event loop
        costs CPU (measured here: ≈ 0.1 ms for a bare `to_thread`, ≈ 0.25 ms within a turn), so a turn
        makes as few as it can."""
        state.writes.commit()
        held.release()

    def _agent(self, request: TurnRequest, state: _Turn):
        """A Strands agent with the session's history, the limits and the trace tagger."""
        from strands import Agent

        manager = session_manager(self.settings, request.caller_id, request.session_id)
        state.writes = TurnWrites.hold(manager)  # a failed turn leaves the session as it was
        return Agent(
            model=self._model,
            tools=self.tools,
            system_prompt=self.settings.system_prompt,
            session_manager=manager,
            hooks=[state.limits, state.tagger],
            callback_handler=None,
            retry_strategy=None,  # botocore's adaptive retries already bound retrying
            trace_attributes={"session.id": request.session_id, "agent.version": self.agent_version},
        )

    async def _stream(self, agent, request: TurnRequest, state: _Turn) -> AsyncIterator[dict]:
        """Token events as the model writes them, within the request timeout; keeps the result."""
        from strands.types.exceptions import MaxTokensReachedException

        metrics = state.metrics
        try:
            async with asyncio.timeout(self.settings.request_timeout_seconds):
                async for event in agent.stream_async(request.prompt):
                    if "data" in event and isinstance(event["data"], str) and event["data"]:
                        if metrics.time_to_first_token_ms is None:
                            metrics.time_to_first_token_ms = (time.perf_counter() - state.started) * 1000
                        state.text.append(event["data"])
                        yield {"type": "token", "text": event["data"]}
                    elif "result" in event:
                        state.result = event["result"]
        except MaxTokensReachedException:
            # The answer hit max_tokens: return what was generated and say so, not an error.
            state.stop_reason = "max_tokens"
            state.limits.limit_hit = state.limits.limit_hit or f"max_tokens={self.settings.max_tokens}"

    def _final_event(self, request: TurnRequest, agent, state: _Turn) -> dict:
        metrics, limits = state.metrics, state.limits
        self._measure(metrics, agent, limits)
        metrics.latency_ms = (time.perf_counter() - state.started) * 1000
        metrics.estimate_cost(self.settings)
        return {
            "type": "final",
            "answer": "".join(state.text) if state.text else _message_text(state.result),
            "session_id": request.session_id,
            "request_id": request.request_id,
            "trace_id": None,  # turn(): the id the MLflow server stores (TraceTagger.stored_trace_id)
            "agent_version": self.agent_version,
            "stop_reason": state.stop_reason or str(getattr(state.result, "stop_reason", "")),
            "limit_hit": limits.limit_hit,
            "usage": {
                "input_tokens": metrics.input_tokens,
                "output_tokens": metrics.output_tokens,
                "model_calls": metrics.model_calls,
                "tool_calls": metrics.tool_calls,
                "tools_used": limits.tools_used,
                "retries": state.attempts.retries,
                "latency_ms": round(metrics.latency_ms, 1),
                "time_to_first_token_ms": round(metrics.time_to_first_token_ms or 0, 1),
                # Unrounded: a short turn's share of an instance-hour is well under $0.000001, and rounding
                # money to a fixed number of decimals reports real cost as 0.
                "estimated_cost_usd": metrics.estimated_cost_usd,
            },
        }

    def _publish(self, state: _Turn) -> None:
        """The turn's metrics, whatever its outcome."""
        metrics, tagger = state.metrics, state.tagger
        metrics.tracing_failures = self.lineage.failures.take()
        # The agent ran before MLflow set-up finished (or while MLflow is unreachable): not traced.
        metrics.untraced = int(tagger is not None and not tagger.active and self.lineage.status != "off")
        metrics.retries = state.attempts.retries
        metrics.latency_ms = metrics.latency_ms or (time.perf_counter() - state.started) * 1000
        _publish_quietly(self.settings, metrics)
        self.lineage.export_finished()

    @staticmethod
    def _measure(metrics: RequestMetrics, agent, limits) -> None:
        metrics.model_calls = min(limits.model_calls, limits.max_cycles)
        metrics.tool_calls = min(limits.tool_calls, limits.max_tool_calls)
        metrics.model_seconds = limits.model_seconds
        # The agent's own metrics, not the result's: an answer cut at max_tokens has no result,
        # but Strands has already counted its tokens.
        usage = agent.event_loop_metrics.accumulated_usage
        metrics.input_tokens, metrics.output_tokens = usage.get("inputTokens", 0), usage.get("outputTokens", 0)


@dataclass
class _Turn:
    """What one turn's steps share: its clock, counters and limits, and what the model produced."""

    started: float
    metrics: RequestMetrics
    limits: object  # agent_runtime.limits.RequestLimits (imported with Strands, on the first turn)
    attempts: object  # agent_runtime.attempts.EndpointAttempts
    text: list[str] = field(default_factory=list)
    result: object = None
    stop_reason: str | None = None
    tagger: object = None
    writes: TurnWrites | None = None  # the session's writes, held until the turn has answered
    agent: object = None  # the Strands agent, built off the loop (AgentService._open)

    @classmethod
    def begin(cls, settings: RuntimeSettings) -> _Turn:
        from agent_runtime.attempts import CURRENT, EndpointAttempts
        from agent_runtime.limits import RequestLimits

        metrics = RequestMetrics()
        started = time.perf_counter()
        attempts = EndpointAttempts()
        CURRENT.set(attempts)  # this task's context, copied into the client's worker threads
        return cls(started, metrics, RequestLimits(settings.max_cycles, settings.max_tool_calls), attempts)


def _message_text(result) -> str:
    if result is None:
        return ""
    return "".join(block.get("text", "") for block in result.message.get("content", []))


def _publish_quietly(settings: RuntimeSettings, metrics: RequestMetrics) -> None:
    try:
        publish(settings, metrics)
    except Exception:
        log.warning("could not publish metrics", exc_info=True)
