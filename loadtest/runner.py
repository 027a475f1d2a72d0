"""Bounded concurrent load: one thread per simulated client, stage by stage.

Each worker plays conversations of the prompt set (round robin across workers), one turn after
the other with the earlier turns as history: one conversation is one session. A worker sends its
next request only while its stage's time is left and the run's request cap is not used up, so
the run ends by the stage durations plus at most one in-flight request per worker (bounded by
the target's timeout). A failed turn abandons its conversation (the next turn would lack its
answer); throttled requests are not retried, so throttling shows in the figures.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

from loadtest.profiles import Profile, PromptSet
from loadtest.records import OK, RequestResult


class RequestBudget:
    """The run's request cap, shared by every worker."""

    def __init__(self, cap: int) -> None:
        self.cap, self.used = cap, 0
        self._lock = threading.Lock()

    def claim(self) -> bool:
        with self._lock:
            if self.used >= self.cap:
                return False
            self.used += 1
            return True


class Runner:
    def __init__(
        self,
        profile: Profile,
        prompts: PromptSet,
        new_target: Callable[[int], object],
        *,
        run_id: str,
        on_result: Callable[[RequestResult], None] | None = None,
        on_stage: Callable[[int, int], None] | None = None,
    ) -> None:
        self.profile, self.prompts, self.new_target = profile, prompts, new_target
        self.run_id = run_id
        self.on_result = on_result or (lambda result: None)
        self.on_stage = on_stage or (lambda stage, concurrency: None)
        self.results: list[RequestResult] = []
        self.stop = threading.Event()  # set by Ctrl-C: workers finish their request and leave
        self.interrupted = False
        self._lock = threading.Lock()
        self._conversations = itertools.count()
        self._sessions = itertools.count()

    def run(self) -> list[RequestResult]:
        budget = RequestBudget(self.profile.max_requests)
        run_started = time.perf_counter()
        for number, stage in enumerate(self.profile.stages):
            if self.stop.is_set() or budget.used >= budget.cap:
                break
            self.on_stage(number, stage.concurrency)
            deadline = time.perf_counter() + stage.seconds
            workers = [
                threading.Thread(
                    target=self._work,
                    args=(number, stage.concurrency, worker, deadline, budget, run_started),
                    name=f"loadtest-{number}-{worker}",
                    daemon=True,
                )
                for worker in range(stage.concurrency)
            ]
            for worker in workers:
                worker.start()
            try:
                for worker in workers:
                    while worker.is_alive():
                        worker.join(0.2)  # short joins keep Ctrl-C responsive
            except KeyboardInterrupt:
                # Ctrl-C: no new requests; those in flight finish (bounded by the target's timeout).
                self.stop.set()
                self.interrupted = True
                for worker in workers:
                    worker.join()
        return sorted(self.results, key=lambda result: result.started_s)

    def _work(
        self, stage: int, concurrency: int, worker: int, deadline: float, budget: RequestBudget, run_started: float
    ) -> None:
        target = self.new_target(worker)
        target.warm()  # client set-up is not part of any request's latency
        conversations = self.prompts.conversations

        def may_send() -> bool:
            return not self.stop.is_set() and time.perf_counter() < deadline and budget.claim()

        while True:
            conversation = conversations[next(self._conversations) % len(conversations)]
            session_id = f"lt-{self.run_id}-{next(self._sessions)}"
            history: list[dict] = []
            for turn, prompt in enumerate(conversation.turns):
                if not may_send():
                    return
                started = time.perf_counter() - run_started
                reply = target.send(history, prompt, session_id)
                result = reply.result
                result.started_s, result.stage, result.concurrency, result.worker = started, stage, concurrency, worker
                result.conversation, result.turn, result.session_id = conversation.id, turn, session_id
                with self._lock:
                    self.results.append(result)
                self.on_result(result)
                if result.status != OK:
                    break  # abandon this conversation; start the next one
                history += [
                    {"role": "user", "content": [{"text": prompt, "type": "text"}]},
                    {"role": "assistant", "content": [{"text": reply.text, "type": "text"}]},
                ]
