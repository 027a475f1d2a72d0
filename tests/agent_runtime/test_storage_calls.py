"""Storage calls leave the event loop, whatever the store (agent_runtime.storage_calls): a whole turn's
on the file store, and a lock acquired for a request that was cancelled meanwhile is given back.
In-process (the S3 store over HTTP: test_s3_sessions.py)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from agent_runtime.settings import RuntimeSettings
from agent_runtime.storage_calls import hold, off_loop


def test_off_loop_runs_in_another_thread_with_the_caller_s_context():
    import contextvars

    request_id = contextvars.ContextVar("request_id")

    async def main():
        request_id.set("req-1")
        return threading.get_ident(), await off_loop(lambda: (threading.get_ident(), request_id.get()))

    loop_thread, (thread, seen) = asyncio.run(main())
    assert thread != loop_thread and seen == "req-1"


class OneAnswer:
    """Test double of the model (a Strands `Model`): streams one short answer, no tool call."""

    def __init__(self) -> None:
        from strands.models.model import Model

        # A subclass made here: Strands is imported with the first turn, not at collection.
        self.model = type("OneAnswerModel", (Model,), {
            "update_config": lambda self, **config: None,
            "get_config": lambda self: {},
            "structured_output": lambda self, *args, **kwargs: None,
            "stream": OneAnswer._stream,
        })()  # fmt: skip

    @staticmethod
    async def _stream(self, messages, tool_specs=None, system_prompt=None, **kwargs):
        yield {"messageStart": {"role": "assistant"}}
        yield {"contentBlockDelta": {"delta": {"text": "stored off the loop"}}}
        yield {"contentBlockStop": {}}
        yield {"messageStop": {"stopReason": "end_turn"}}


def test_a_turn_s_storage_calls_on_files_run_off_the_event_loop(tmp_path, monkeypatch):
    """Every read and write of a turn on the file store (lock, session load, the turn's writes,
    release) runs off the event loop, as S3's do (S3 over HTTP: test_s3_sessions.py). Before, all of
    them ran on it: files were taken for fast enough, and the code paths of the two stores differed."""
    from strands.session.file_session_manager import FileSessionManager

    from agent_runtime import sessions
    from agent_runtime.service import AgentService

    settings = RuntimeSettings(endpoint_name="e", session_dir=tmp_path, tools=[])
    calls: list[tuple[str, int]] = []

    def recorded(name: str, original):
        def call(*args, **kwargs):
            calls.append((name, threading.get_ident()))
            return original(*args, **kwargs)

        return call

    for name in ("read_session", "create_session", "read_agent", "create_agent", "update_agent",
                 "list_messages", "create_message"):  # fmt: skip
        monkeypatch.setattr(FileSessionManager, name, recorded(name, getattr(FileSessionManager, name)))
    monkeypatch.setattr(sessions, "_file_lock", recorded("lock", sessions._file_lock))
    service = AgentService(settings)
    service._model, service._started = OneAnswer().model, True  # what _start() builds on a first turn

    async def main() -> tuple[int, list[dict]]:
        events = [event async for event in service.turn(service.request("hello", None, None, "caller-a"))]
        return threading.get_ident(), events

    loop_thread, events = asyncio.run(main())
    assert events[-1]["type"] == "final" and events[-1]["answer"] == "stored off the loop"
    names = [name for name, _ in calls]
    assert {"lock", "read_session", "create_session", "create_agent", "create_message"} <= set(names), names
    on_loop = [name for name, thread in calls if thread == loop_thread]
    assert not on_loop, f"on the event loop: {on_loop}"
    session = events[-1]["session_id"]
    assert len(list((tmp_path / "caller-a" / f"session_{session}").rglob("message_*.json"))) == 2  # stored


class Lock:
    """Test double of a `sessions.Held` taken by a blocking call that waits for `go`."""

    def __init__(self) -> None:
        self.entered, self.go = threading.Event(), threading.Event()
        self.released = threading.Event()

    def acquire(self) -> Lock:
        self.entered.set()
        assert self.go.wait(30)
        return self

    def release(self) -> None:
        self.released.set()


def test_a_lock_acquired_for_a_cancelled_request_is_released():
    """The client left while the thread was still taking the lock: before, the lock stayed held until
    it expired (twice the request timeout), and the session answered 409 meanwhile."""
    lock = Lock()

    async def main() -> None:
        task = asyncio.ensure_future(hold(lock.acquire))
        await asyncio.to_thread(lock.entered.wait, 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        lock.go.set()  # the thread takes the lock only now, after the cancellation
        await asyncio.to_thread(lock.released.wait, 30)

    asyncio.run(main())
    assert lock.released.is_set()


def test_a_cancelled_acquisition_that_failed_leaves_nothing_to_release():
    class Busy(Lock):
        def acquire(self) -> Lock:
            super().acquire()
            raise RuntimeError("busy")

    lock = Busy()

    async def main() -> None:
        task = asyncio.ensure_future(hold(lock.acquire))
        await asyncio.to_thread(lock.entered.wait, 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        lock.go.set()
        for _ in range(20):  # let the executor finish and its callback run
            await asyncio.sleep(0.01)

    asyncio.run(main())
    assert not lock.released.is_set()
