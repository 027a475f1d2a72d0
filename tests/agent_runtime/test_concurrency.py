"""One worker serves its configured sessions at the model's pace, and refuses the next with a 503.

Unit checks of the parts (thread pool, connection pool, admission counter, gauge arithmetic), then
real processes: 32 concurrent sessions against one uvicorn worker and a scripted model with 500 ms
latency, and a worker at its limit answering the next request 503 + Retry-After while the others
finish and the refused session continues on retry.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import statistics
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from agent_runtime.api import TurnSlots, _AdmittedStream, _sse
from agent_runtime.concurrency import (
    RETRY_AFTER_SECONDS,
    SessionAdmission,
    default_executor_threads,
    executor_threads,
    install_executor,
)
from agent_runtime.errors import ApiError
from agent_runtime.sessions import Held
from agent_runtime.settings import RuntimeSettings
from tests.agent_runtime.conftest import CALLER, AgentProcess, bearer, post

MODEL_LATENCY_S = 0.5  # the scripted model's `fixed_latency` default


# --- the parts -------------------------------------------------------------------------------


def _wall_time_of_blocking_calls(calls: int, seconds: float, sessions: int | None) -> float:
    """`calls` concurrent asyncio.to_thread(time.sleep) on a fresh loop, with or without the worker's executor."""

    async def main() -> float:
        if sessions is not None:
            install_executor(asyncio.get_running_loop(), sessions)
        started = time.perf_counter()
        await asyncio.gather(*(asyncio.to_thread(time.sleep, seconds) for _ in range(calls)))
        return time.perf_counter() - started

    return asyncio.run(main())


def test_the_installed_executor_runs_every_session_s_blocking_call_at_once():
    calls, seconds = 40, 0.2
    assert _wall_time_of_blocking_calls(calls, seconds, sessions=calls) < 2.5 * seconds
    # The default executor (what asyncio.to_thread uses unless the worker installs one) queues them:
    # the check above would fail without install_executor.
    rounds = -(-calls // ThreadPoolExecutor()._max_workers)
    assert rounds >= 2 and _wall_time_of_blocking_calls(calls, seconds, sessions=None) >= rounds * seconds * 0.95


def test_executor_keeps_the_default_pool_as_headroom_for_other_thread_users():
    assert default_executor_threads() == ThreadPoolExecutor()._max_workers
    assert executor_threads(32) == 32 + default_executor_threads()


@pytest.mark.parametrize("sessions, pool", [(1, 10), (10, 10), (64, 64)])
def test_model_client_connection_pool_covers_the_sessions(sessions, pool):
    from agent_runtime.model import build_model

    model = build_model(RuntimeSettings(endpoint_name="pool-check", max_concurrent_sessions=sessions))
    assert model.client.meta.config.max_pool_connections == pool  # botocore's default is 10


def test_admission_refuses_beyond_the_limit_with_503_and_retry_after():
    admission = SessionAdmission(2)
    admission.enter(), admission.enter()
    with pytest.raises(ApiError) as refused:
        admission.enter()
    error = refused.value
    assert (error.status, error.code, error.headers()) == (503, "AtCapacity", {"Retry-After": str(RETRY_AFTER_SECONDS)})
    assert error.body() == {"error": {"code": "AtCapacity", "message": error.message}}  # the API's error shape
    assert admission.in_flight == 2
    admission.leave()
    with admission.slot():  # a freed slot is taken again
        assert admission.in_flight == 2
    assert admission.in_flight == 1


@pytest.mark.parametrize("failure", [RuntimeError("the turn failed"), ApiError(409, "SessionBusy", "busy", 1)])
def test_admission_slot_is_released_when_the_turn_fails(failure):
    admission = SessionAdmission(1)
    with pytest.raises(type(failure)) as raised, admission.slot():
        raise failure
    assert raised.value is failure and admission.in_flight == 0  # a frozen ApiError passes through unchanged


async def _scripted_turn(last: dict):
    """Test double of AgentService.turn: one token, then the given last event (or error)."""
    yield {"type": "token", "text": "hi"}
    if isinstance(last, ApiError):
        raise last
    yield last


@pytest.mark.parametrize(
    "last",
    [{"type": "final", "answer": "hi"}, ApiError(502, "ModelError", "the endpoint failed")],
    ids=["final", "error"],
)
def test_a_stream_gives_its_slots_back_before_it_sends_its_last_event(last):
    """A client that has read `final` (or `error`) may start its next turn at once; it saw 429 when the
    caller's slot was given back only after the response ended (CI, tests/agent_runtime/test_identity.py)."""
    order: list[str] = []

    async def release() -> None:
        order.append("released")

    async def stream() -> None:
        async for chunk in _sse(_scripted_turn(last), before_last=release):
            order.append(chunk.split("\n")[0])

    asyncio.run(stream())
    assert order == ["event: token", "released", "event: final" if isinstance(last, dict) else "event: error"]


def _off_the_loop(function, *args):
    """As `_AgentApi.blocking` does with S3 sessions: the call runs in a thread."""
    return asyncio.to_thread(function, *args)


def test_turn_slots_take_the_worker_slot_first_and_give_the_caller_slot_back_first_once():
    """The order the API had before TurnSlots: worker slot, then session check and caller slot; given back
    caller slot first, then worker slot. However often release is called (a stream calls it before its
    last event and again when its response ends), each slot goes back once."""
    admission = SessionAdmission(2)
    seen: list[tuple[str, int]] = []

    async def admit() -> Held:
        seen.append(("admit", admission.in_flight))
        return Held(lambda: seen.append(("caller slot released", admission.in_flight)))

    async def main() -> None:
        slots = await TurnSlots.take(admission, admit, _off_the_loop)
        assert admission.in_flight == 1
        await slots.release()
        await slots.release()
        async with slots:  # how /invoke holds them
            pass

    asyncio.run(main())
    assert seen == [("admit", 1), ("caller slot released", 1)]  # the worker slot was held throughout
    assert admission.in_flight == 0  # a second leave() would make it -1


@pytest.mark.parametrize(
    "refusal",
    [ApiError(404, "SessionNotFound", "no such session"), ApiError(429, "TooManyTurns", "busy", 2)],
    ids=["404", "429"],
)
def test_turn_slots_give_the_worker_slot_back_when_the_turn_is_refused(refusal):
    admission = SessionAdmission(1)

    async def admit() -> Held:
        raise refusal

    with pytest.raises(ApiError) as raised:
        asyncio.run(TurnSlots.take(admission, admit, _off_the_loop))
    assert raised.value is refusal and admission.in_flight == 0  # a frozen ApiError passes through unchanged


def test_turn_slots_refuse_a_full_worker_before_the_session_check():
    admission = SessionAdmission(1)
    admission.enter()
    admitted: list[int] = []

    async def admit() -> Held:
        admitted.append(1)
        return Held(lambda: None)

    with pytest.raises(ApiError) as raised:
        asyncio.run(TurnSlots.take(admission, admit, _off_the_loop))
    assert raised.value.status == 503 and admitted == [] and admission.in_flight == 1


def test_turn_slots_leave_the_worker_slot_when_the_caller_slot_cannot_be_given_back():
    admission = SessionAdmission(1)

    def unreachable_store() -> None:
        raise ConnectionError("S3 is unreachable")

    async def admit() -> Held:
        return Held(unreachable_store)

    async def main() -> None:
        slots = await TurnSlots.take(admission, admit, _off_the_loop)
        with pytest.raises(ConnectionError):
            await slots.release()
        assert admission.in_flight == 0
        await slots.release()  # the response's end: nothing left, no second failure

    asyncio.run(main())


def test_turn_slots_leave_the_worker_slot_when_the_release_is_cancelled():
    """The client leaves while the caller slot's release runs in its thread (Starlette cancels the stream):
    the worker slot goes back at once, the caller slot's release finishes in its thread, as before TurnSlots."""
    admission = SessionAdmission(1)
    started, finish = threading.Event(), threading.Event()
    released: list[int] = []

    def slow_release() -> None:
        started.set()
        finish.wait(10)
        released.append(1)

    async def admit() -> Held:
        return Held(slow_release)

    async def main() -> None:
        slots = await TurnSlots.take(admission, admit, _off_the_loop)
        releasing = asyncio.ensure_future(slots.release())
        await asyncio.to_thread(started.wait, 10)
        releasing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await releasing
        assert admission.in_flight == 0 and released == []
        await slots.release()  # the response's end: nothing left to do
        finish.set()

    asyncio.run(main())  # waits for the executor's threads
    assert released == [1] and admission.in_flight == 0


@pytest.mark.parametrize("client_leaves_at", [None, "http.response.start", "http.response.body"])
def test_an_admitted_stream_gives_its_slots_back_once_whenever_it_ends(client_leaves_at):
    """Through the response as uvicorn drives it (ASGI spec 2.3): a whole stream gives both slots back before
    its final event is sent; one whose client left before its body started, or in its middle, at its end."""
    admission = SessionAdmission(1)
    caller_released: list[int] = []
    sent: list[tuple[bytes, int, int]] = []  # (event line, worker slots taken, caller slot releases) per chunk

    async def admit() -> Held:
        return Held(lambda: caller_released.append(1))

    async def send(message) -> None:
        if message["type"] == client_leaves_at:
            raise OSError("the client went away")
        if message.get("body"):
            sent.append((message["body"].split(b"\n")[0], admission.in_flight, len(caller_released)))

    async def receive() -> dict:
        await asyncio.Event().wait()  # no disconnect message: the client leaves by failing `send`
        return {}

    async def main() -> None:
        slots = await TurnSlots.take(admission, admit, _off_the_loop)
        content = _sse(_scripted_turn({"type": "final", "answer": "hi"}), before_last=slots.release)
        response = _AdmittedStream(content, slots, media_type="text/event-stream")
        await response({"type": "http", "asgi": {"spec_version": "2.3"}}, receive, send)

    if client_leaves_at is None:
        asyncio.run(main())
        assert sent == [(b"event: token", 1, 0), (b"event: final", 0, 1)]
    else:
        with pytest.raises(OSError):
            asyncio.run(main())
        assert sent == []
    assert caller_released == [1] and admission.in_flight == 0


def test_gauge_is_the_time_weighted_mean_peak_and_refusals_of_the_period():
    now = [0.0]
    admission = SessionAdmission(2, clock=lambda: now[0])
    admission.enter()  # t=0: 1 in flight
    now[0] = 1.0
    admission.enter()  # t=1: 2
    with pytest.raises(ApiError):
        admission.enter()  # refused
    now[0] = 2.0
    admission.leave()  # t=2: 1
    now[0] = 4.0
    sample = admission.sample()  # (1*1 + 2*1 + 1*2) / 4 s
    assert (sample.average, sample.peak, sample.rejected, sample.seconds) == (1.25, 2, 1, 4.0)
    now[0] = 6.0
    idle = admission.sample()  # the next period starts where the last ended, with 1 still in flight
    assert (idle.average, idle.peak, idle.rejected) == (1.0, 1, 0)


# --- real processes ----------------------------------------------------------------------------


def _turn(
    agent: AgentProcess, prompt: str, session: str | None = None, caller: str = CALLER
) -> tuple[float, int, dict, dict]:
    """One turn (a new session unless `session`); each simulated user is its own caller, as the per-caller
    turn limit (AGENT_MAX_TURNS_PER_CALLER) would otherwise refuse a single caller's 32 parallel turns."""
    started = time.perf_counter()
    body = {"prompt": prompt, **({"session_id": session} if session else {})}
    status, headers, body = post(f"{agent.url}/invoke", body, timeout=60, caller=caller)
    return time.perf_counter() - started, status, headers, body


def _concurrently(count: int, work) -> list:
    results: list = [None] * count

    def run(index: int) -> None:
        results[index] = work(index)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def _health(agent: AgentProcess) -> dict:
    with urllib.request.urlopen(f"{agent.url}/health", timeout=10) as response:
        return json.loads(response.read())


def _value(record: dict, name: str) -> float:
    value = record[name]  # Powertools writes a metric's value as a list ([n]) or a bare number
    return value[0] if isinstance(value, list) else value


def _until(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_32_concurrent_sessions_answer_at_about_the_model_latency(agent_env, tmp_path):
    # Tracing off: this checks that no thread pool queues the model calls; the CPU a turn costs
    # (tracing adds about a third) is measured by `make bench-agent`. On 2 busy cores, 32 turns' CPU in a
    # burst would otherwise decide the result.
    untraced = {name: value for name, value in agent_env.items() if name != "AGENT_MLFLOW_TRACKING_URI"}
    worker = AgentProcess({**untraced, "AGENT_MAX_CONCURRENT_SESSIONS": "32"}, tmp_path / "conc.log").start()
    try:
        assert _health(worker)["sessions"] == {"in_flight": 0, "limit": 32}
        prompt = "[scenario:fixed_latency] how do I reset my password?"
        for _ in range(3):  # warm-up: model client, connections
            _turn(worker, prompt)
        alone = statistics.median(_turn(worker, prompt)[0] for _ in range(5))
        assert MODEL_LATENCY_S <= alone < MODEL_LATENCY_S * 1.5
        # 32 users, 3 turns each, every turn a new session: as the issue measured it.
        runs = [
            run
            for user in _concurrently(
                32, lambda index: [_turn(worker, prompt, caller=f"user-{index:02d}") for _ in range(3)]
            )
            for run in user
        ]
        assert [status for _, status, _, _ in runs] == [200] * 96
        together = statistics.median(seconds for seconds, _, _, _ in runs)
        print(
            f"1 user p50 {alone:.3f} s; 32 users p50 {together:.3f} s, p95 {statistics.quantiles([r[0] for r in runs], n=20)[-1]:.3f} s"
        )
        # Queued behind the default executor (6 threads on 2 vCPUs) this was 5.1x (2.72 s). Behind any pool of
        # T threads, 32 users who keep calling see 32 x 0.5 s / T per turn (Little's law): >= 2x for T < 16.
        # With a thread per session it measured 1.05-1.75x on this shared 2-core machine, up to 2.2x with the
        # other xdist worker busy; the rest is the turns' CPU on the worker's one core (CPU per turn is measured
        # by `make bench-agent`). 3x still fails any pool of T <= 10 threads (32 x 0.5 s / 10 = 3.2x).
        assert together < 3 * alone, f"32 users p50 {together:.2f} s vs 1 user {alone:.2f} s"
    finally:
        worker.stop()


def test_beyond_the_limit_a_request_gets_503_and_its_session_continues_on_retry(agent_env, tmp_path):
    limit = 4
    worker = AgentProcess(
        {**agent_env, "AGENT_MAX_CONCURRENT_SESSIONS": str(limit), "AGENT_SESSIONS_METRIC_SECONDS": "0.3"},
        tmp_path / "limit.log",
    ).start()
    try:
        first = _turn(worker, "[scenario:multi_turn] first")[3]
        session = first["session_id"]
        assert first["answer"] == "Turn 1: first"
        slow = "[scenario:slow_tokens] " + "word " * 30  # ~1.5 s at 50 ms a token
        busy_results: list = []
        busy = threading.Thread(
            target=lambda: busy_results.extend(
                _concurrently(limit, lambda index: _turn(worker, slow, caller=f"busy-{index}"))
            )
        )
        busy.start()
        _until(lambda: _health(worker)["sessions"]["in_flight"] == limit)

        _, status, headers, body = _turn(worker, "[scenario:multi_turn] second", session)
        assert (status, headers.get("retry-after"), body["error"]["code"]) == (503, "1", "AtCapacity"), body
        stream_status, stream_headers, stream_body = post(f"{worker.url}/invoke/stream", {"prompt": "hi"})
        assert (stream_status, stream_headers.get("retry-after"), stream_body["error"]["code"]) == (
            503,
            "1",
            "AtCapacity",
        )
        assert _health(worker)["status"] == "ok"  # health checks are never refused

        busy.join(60)
        assert [status for _, status, _, _ in busy_results] == [200] * limit  # the turns in flight were unaffected
        # The refused turn left the history alone: the retry is the session's second turn.
        assert _turn(worker, "[scenario:multi_turn] second", session)[3]["answer"] == "Turn 2: second"
        assert _health(worker)["sessions"]["in_flight"] == 0

        def gauges() -> list[dict]:
            return [r for r in worker.emf_records() if "ConcurrentSessions" in r]

        _until(lambda: _value(gauges()[-1], "ConcurrentSessions") == 0)  # idle: 0, not silence
        gauges = gauges()
        assert max(_value(r, "ConcurrentSessionsPeak") for r in gauges) == limit
        assert max(_value(r, "ConcurrentSessions") for r in gauges) > 1  # several turns overlapped in some period
        assert sum(_value(r, "SessionsRejected") for r in gauges) == 2
        names = {m["Name"] for m in gauges[-1]["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
        assert names == {"ConcurrentSessions", "ConcurrentSessionsPeak", "SessionsRejected"}
        assert gauges[-1]["Environment"] == "dev" and gauges[-1]["service"] == "agent"
    finally:
        worker.stop()


def test_a_stream_holds_its_slot_until_it_ends_even_when_the_client_leaves(agent_env, tmp_path):
    worker = AgentProcess({**agent_env, "AGENT_MAX_CONCURRENT_SESSIONS": "1"}, tmp_path / "stream.log").start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", worker.port, timeout=30)
        body = json.dumps({"prompt": "[scenario:slow_tokens] " + "word " * 200})
        connection.request(
            "POST", "/invoke/stream", body=body, headers={"Content-Type": "application/json", **bearer(CALLER)}
        )
        response = connection.getresponse()
        assert b"event: token" in response.read1(4096)
        assert _turn(worker, "meanwhile", caller="other")[1] == 503  # the stream holds the only slot
        connection.close()  # 200 tokens at 50 ms would take 10 s more
        _until(lambda: _health(worker)["sessions"]["in_flight"] == 0)
        assert _turn(worker, "after the stream", caller="other")[1] == 200
        request = urllib.request.Request(
            f"{worker.url}/invoke/stream",
            headers={"Content-Type": "application/json", **bearer(CALLER)},
            data=json.dumps({"prompt": "a whole stream"}).encode(),
        )
        with urllib.request.urlopen(request, timeout=30) as finished:
            assert b"event: final" in finished.read()
        assert _health(worker)["sessions"]["in_flight"] == 0  # freed before its final event was sent
    finally:
        worker.stop()
