"""The one way a turn's blocking storage calls leave the event loop, whatever the store.

One uvicorn worker serves up to `max_concurrent_sessions` turns on one event loop (Fargate; Lambda
runs one turn per environment, through the same code). A blocking call made on that loop stalls
every turn of the worker for its duration: with S3 sessions each call is a network round trip
(tens of ms on AWS), so concurrent sessions waited on each other's S3 calls. Local files are
fast, but a slow disk stalls the loop the same way, and one code path for both stores is what the
tests exercise. So every storage call of a turn goes through here:

- `off_loop(function, *args)`: runs it in the loop's default executor and awaits it. The executor
  has a thread per session plus headroom (agent_runtime.concurrency), and a session makes one
  storage call at a time, so this never queues behind other sessions. The caller's context
  (request ids on log lines, agent_runtime.logging_setup) goes with it, as `asyncio.to_thread`
  copies it.
- `hold(acquire)`: the same for taking a lock or slot (`sessions.Held`): if the awaiting task is
  cancelled (the client went away) while the thread is still acquiring, the thread finishes anyway;
  then what it acquired is released (off the loop too) instead of being left to expire.

What goes through here in a turn (agent_runtime.service, api.py): the session check and the caller
slot (api.py `blocking`), the session's lock with the agent's construction, which loads the session (`hold`),
the turn's writes (`TurnWrites.commit`, agent_runtime/turn_writes.py: during the turn Strands' hooks
only queue them in memory) and the releases (`off_loop`).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


async def off_loop(function: Callable[..., T], /, *args) -> T:
    """`function(*args)` in the default executor, awaited (asyncio.to_thread: the context goes along)."""
    return await asyncio.to_thread(function, *args)


async def hold(acquire: Callable[[], T]) -> T:
    """`acquire()` (which returns something with `release()`, e.g. a `sessions.Held`) off the loop.

    Cancelled while the thread still runs: the thread is not interrupted (threads cannot be), so
    once it has acquired, what it acquired is released in the executor. Otherwise a client that
    leaves at that moment would keep its session busy (409) until the lock expired."""
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(None, functools.partial(contextvars.copy_context().run, acquire))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        future.add_done_callback(functools.partial(_release_when_acquired, loop))
        raise


def _release_when_acquired(loop: asyncio.AbstractEventLoop, future: asyncio.Future) -> None:
    if future.cancelled() or future.exception() is not None:
        return  # nothing was acquired (e.g. busy, or S3 failed)
    held = future.result()
    if loop.is_closed():
        return
    release = loop.run_in_executor(None, held.release)
    release.add_done_callback(_log_failed_release)


def _log_failed_release(future: asyncio.Future) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("could not release a lock acquired for a cancelled request", exc_info=future.exception())
