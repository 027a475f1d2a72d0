"""Per-request bounds on the agent loop (model calls, tool calls), and the time spent in the model."""

from __future__ import annotations

import time

from strands.hooks import AfterModelCallEvent, BeforeModelCallEvent, BeforeToolCallEvent, HookProvider, HookRegistry


class RequestLimits(HookProvider):
    """Counts model and tool calls of one request, refuses the ones past the limits, times the model."""

    def __init__(self, max_cycles: int, max_tool_calls: int) -> None:
        self.max_cycles, self.max_tool_calls = max_cycles, max_tool_calls
        self.model_calls = self.tool_calls = 0
        self.tools_used: list[str] = []  # names in call order, refused calls included (evaluation reads them)
        self.model_seconds = 0.0  # for the cost estimate: time the endpoint was busy with this request
        self._model_started: float | None = None
        self.limit_hit: str | None = None

    def register_hooks(self, registry: HookRegistry, **kwargs) -> None:
        registry.add_callback(BeforeModelCallEvent, self._before_model_call)
        registry.add_callback(BeforeToolCallEvent, self._before_tool_call)
        registry.add_callback(AfterModelCallEvent, self._after_model_call)

    def _before_model_call(self, event: BeforeModelCallEvent) -> None:
        self.model_calls += 1
        if self.model_calls > self.max_cycles:
            self.limit_hit = f"max_cycles={self.max_cycles}"
            event.cancel = f"Stopped: this request reached its limit of {self.max_cycles} model calls."
        else:
            self._model_started = time.perf_counter()

    def _after_model_call(self, event: AfterModelCallEvent) -> None:
        if self._model_started is not None:
            self.model_seconds += time.perf_counter() - self._model_started
            self._model_started = None

    def _before_tool_call(self, event: BeforeToolCallEvent) -> None:
        self.tool_calls += 1
        self.tools_used.append(event.tool_use["name"])
        if self.tool_calls > self.max_tool_calls:
            self.limit_hit = f"max_tool_calls={self.max_tool_calls}"
            event.cancel_tool = f"Not run: this request reached its limit of {self.max_tool_calls} tool calls. Answer with what you have."
