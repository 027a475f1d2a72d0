"""How many sessions one worker serves at once: threads for all of them, a bound, and a gauge.

Threads. Strands' SageMakerAIModel runs `invoke_endpoint_with_response_stream` and every `next()`
on the event stream through `asyncio.to_thread`, i.e. on asyncio's default executor, whose
ThreadPoolExecutor has min(32, CPUs + 4) threads (6 on a 2-vCPU task;
https://docs.python.org/3/library/concurrent.futures.html#concurrent.futures.ThreadPoolExecutor).
A 7th concurrent model call then waits for a thread, not for the model. The worker installs a
default executor with one thread per session (a session blocks at most one thread on the model at a
time) plus that default pool's size as headroom for the other `to_thread` users (Strands runs tools
there; MLflow set-up). The model client's connection pool is sized to match (agent_runtime.model).

Bound. Beyond `max_concurrent_sessions` turns in flight a request answers 503 with Retry-After at
once, before it takes its session's lock or touches its history: nothing queues without bound, the
turns in flight keep their pace, and the client's retry (here, or on another task) continues the
session. uvicorn's own `--limit-concurrency` is not used: it counts connections (health checks and
idle keep-alive connections included) and answers a plain-text 503 without Retry-After.

Gauge. Every `sessions_metric_seconds` the worker emits ConcurrentSessions (the time-weighted mean
of turns in flight over the period), its peak, and the requests refused, as EMF. Fargate's scaling
policy tracks the mean across tasks (kit_constructs/agent_fargate.py). It is emitted idle too (0):
target tracking neither scales out nor in on missing data
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-autoscaling-targettracking.html).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from agent_runtime.errors import ApiError
from agent_runtime.settings import RuntimeSettings

log = logging.getLogger(__name__)
# A turn takes seconds; one second later a slot here has likely freed, or the load balancer sends the
# retry to a less busy task (least outstanding requests).
RETRY_AFTER_SECONDS = 1


def default_executor_threads() -> int:
    """What ThreadPoolExecutor() would pick by itself (Python >= 3.8)."""
    return min(32, (os.cpu_count() or 1) + 4)


def executor_threads(sessions: int) -> int:
    return sessions + default_executor_threads()


def install_executor(loop: asyncio.AbstractEventLoop, sessions: int) -> ThreadPoolExecutor:
    """Make `loop`'s default executor (asyncio.to_thread's) large enough for `sessions` model calls."""
    executor = ThreadPoolExecutor(max_workers=executor_threads(sessions), thread_name_prefix="agent-io")
    loop.set_default_executor(executor)  # threads start lazily, as calls need them
    return executor


@dataclass(frozen=True)
class SessionsSample:
    average: float  # turns in flight, time-weighted over the period
    peak: int
    rejected: int
    seconds: float


class SessionAdmission:
    """Counts the turns in flight in this worker and refuses the ones beyond the limit (503)."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.in_flight = 0
        self._clock = clock
        self._start_period(clock())

    def _start_period(self, now: float) -> None:
        self._since = self._changed = now
        self._area = 0.0
        self._peak = self.in_flight
        self._rejected = 0

    def _account(self, now: float) -> None:
        self._area += self.in_flight * (now - self._changed)
        self._changed = now

    def enter(self) -> None:
        """Take a slot, or raise the 503 (the event loop is single-threaded: no lock needed)."""
        if self.in_flight >= self.limit:
            self._rejected += 1
            raise ApiError(
                503,
                "AtCapacity",
                f"The agent is answering its limit of {self.limit} concurrent requests; retry shortly.",
                RETRY_AFTER_SECONDS,
            )
        self._account(self._clock())
        self.in_flight += 1
        self._peak = max(self._peak, self.in_flight)

    def leave(self) -> None:
        self._account(self._clock())
        self.in_flight -= 1

    def slot(self) -> _Slot:
        """`with admission.slot():` around a turn. A class, not @contextmanager: that one sets
        `__traceback__` on the exception it re-raises, which a frozen ApiError refuses."""
        return _Slot(self)

    def sample(self) -> SessionsSample:
        """The period since the last sample; starts the next one."""
        now = self._clock()
        self._account(now)
        seconds = now - self._since
        sample = SessionsSample(
            self._area / seconds if seconds > 0 else float(self.in_flight), self._peak, self._rejected, seconds
        )
        self._start_period(now)
        return sample


class _Slot:
    def __init__(self, admission: SessionAdmission) -> None:
        self._admission = admission

    def __enter__(self) -> None:
        self._admission.enter()

    def __exit__(self, *exc_info) -> None:
        self._admission.leave()


def publish_sessions(settings: RuntimeSettings, sample: SessionsSample) -> None:
    from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

    from agent_runtime.metrics import NAMESPACE, SERVICE, write_emf

    emf = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
    emf.add_dimension(name="Environment", value=settings.env_name)
    emf.add_metric(name="ConcurrentSessions", unit=MetricUnit.Count, value=round(sample.average, 3))
    emf.add_metric(name="ConcurrentSessionsPeak", unit=MetricUnit.Count, value=sample.peak)
    emf.add_metric(name="SessionsRejected", unit=MetricUnit.Count, value=sample.rejected)
    write_emf(emf)


async def report_sessions(settings: RuntimeSettings, admission: SessionAdmission) -> None:
    """Emit the gauge every `sessions_metric_seconds` until cancelled (the worker's shutdown)."""
    admission.sample()  # the first period starts now
    while True:
        await asyncio.sleep(settings.sessions_metric_seconds)
        try:
            publish_sessions(settings, admission.sample())
        except Exception:
            log.warning("could not publish the sessions gauge", exc_info=True)
