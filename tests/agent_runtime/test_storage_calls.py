"""Storage calls leave the event loop, whatever the store (agent_runtime.storage_calls): Strands' session
hooks run their writes in the executor, and a lock acquired for a request that was cancelled meanwhile
is given back. In-process, sessions in files (the S3 store over HTTP: test_s3_sessions.py)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from agent_runtime.sessions import new_session_id, session_manager
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


def test_strands_session_hooks_write_off_the_event_loop(tmp_path):
    """Strands registers its manager's append and sync as plain callbacks, run on the loop (a file
    write each; an S3 round trip each on AWS); `OffLoopHooks` runs them in the executor, awaited."""
    from strands import Agent
    from strands.hooks import AfterInvocationEvent, MessageAddedEvent
    from strands.models.sagemaker import SageMakerAIModel

    settings = RuntimeSettings(endpoint_name="e", session_dir=tmp_path)
    session_id = new_session_id()
    calls: list[tuple[str, int]] = []

    async def main() -> int:
        manager = session_manager(settings, "caller-a", session_id)
        for name in ("append_message", "sync_agent"):
            original = getattr(manager, name)

            def record(*args, _original=original, _name=name, **kwargs):
                calls.append((_name, threading.get_ident()))
                return _original(*args, **kwargs)

            setattr(manager, name, record)
        model = SageMakerAIModel(
            endpoint_config={"endpoint_name": "e", "region_name": "us-east-1"}, payload_config={"max_tokens": 8}
        )
        agent = Agent(model=model, session_manager=manager, callback_handler=None)
        message = {"role": "user", "content": [{"text": "hello"}]}
        agent.messages.append(message)
        await agent.hooks.invoke_callbacks_async(MessageAddedEvent(agent=agent, message=message))
        await agent.hooks.invoke_callbacks_async(AfterInvocationEvent(agent=agent, invocation_state={}))
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert [name for name, _ in calls] == ["append_message", "sync_agent", "sync_agent"]  # Strands' order
    assert all(thread != loop_thread for _, thread in calls), "a session write ran on the event loop"
    stored = list((tmp_path / "caller-a" / f"session_{session_id}").rglob("message_*.json"))
    assert len(stored) == 1  # and it was written


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
