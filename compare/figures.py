"""The comparison's figures: pass rate, $ per successful task, the Pareto front and the best setting.

Definitions (docs/compare.md):

- A *task* is one case of the evaluation set; it *passed* when every scorer passed on it (the
  deterministic ones, and the LLM judges when configured). pass rate = tasks passed / tasks.
- $ per request is the load profile's (loadtest.costs): the setting's instances × $/hour × the
  load's wall time ÷ its successful requests, so it reflects what the endpoint serves per
  instance-hour at that load.
- The evaluation's cost is its endpoint requests priced at that $ per request: a task costs one
  request per model call the agent made for it (a task the agent failed on costs one request), so
  failed tasks are paid for too and a setting that loops through tools costs more per task.
- $ per successful task = the evaluation's cost ÷ tasks passed; undefined (None) with no task passed.
- The Pareto front is over (cost per successful task: lower is better, pass rate: higher is
  better): a setting is on it when no other setting is at least as good on both and better on
  one. Settings with no passed task (no cost per success) or no successful load request are never
  on it. The best setting is the front's lowest cost per successful task; a tie goes to the higher
  pass rate, then to the name in alphabetical order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

# The load figures the comparison shows, by name in `loadtest.stats.Summary.metrics()`; a figure
# may have had another name in an older release of loadtest's summary (the first present is taken).
LOAD_FIGURES: dict[str, tuple[str, ...]] = {
    "e2e_p50_s": ("e2e_p50_s",),
    "e2e_p95_s": ("e2e_p95_s",),
    "ttft_p50_s": ("ttft_p50_s",),
    "itl_p50_s": ("inter_token_latency_p50_s", "inter_token_p50_s"),
    "output_tokens_per_s": ("output_token_throughput_per_s", "output_tokens_per_s_aggregate"),
}


def load_figure(metrics: dict[str, float], name: str) -> float | None:
    """One of LOAD_FIGURES from a Summary's metrics(), or None when the run has none."""
    return next((metrics[key] for key in LOAD_FIGURES[name] if metrics.get(key) is not None), None)


def passed(scores: dict[str, object]) -> bool:
    """A task passed when it has scores and every one passed (True, or a judge's "yes")."""
    return bool(scores) and all(
        value is True or (isinstance(value, str) and value.lower() == "yes") for value in scores.values()
    )


def task_requests(outputs: dict) -> int:
    """Endpoint requests one task cost: the agent's model calls, at least one."""
    calls = outputs.get("model_calls")
    return max(int(calls), 1) if isinstance(calls, int | float) else 1


@dataclass(frozen=True)
class SettingFigures:
    """What one setting measured: quality from the evaluation, speed and $ per request from the load."""

    name: str
    tasks: int
    tasks_passed: int
    eval_requests: int  # endpoint requests the evaluation's tasks made (task_requests)
    cost_per_request_usd: float | None  # the load's; None when no load request succeeded
    scorer_pass_rates: dict[str, float | None] = field(default_factory=dict)
    load_metrics: dict[str, float] = field(default_factory=dict)  # Summary.metrics() + Costs.metrics()

    @property
    def pass_rate(self) -> float:
        return self.tasks_passed / self.tasks if self.tasks else 0.0

    @property
    def cost_per_1k_requests_usd(self) -> float | None:
        return None if self.cost_per_request_usd is None else self.cost_per_request_usd * 1000

    @property
    def eval_cost_usd(self) -> float | None:
        return None if self.cost_per_request_usd is None else self.eval_requests * self.cost_per_request_usd

    @property
    def cost_per_success_usd(self) -> float | None:
        cost = self.eval_cost_usd
        return None if cost is None or not self.tasks_passed else cost / self.tasks_passed

    def load(self, name: str) -> float | None:
        return load_figure(self.load_metrics, name)

    def metrics(self) -> dict[str, float]:
        """The child run's metrics: the comparison's own, each scorer's pass rate, and the load's figures."""
        figures = {
            "tasks": self.tasks,
            "tasks_passed": self.tasks_passed,
            "pass_rate": self.pass_rate,
            "eval_requests": self.eval_requests,
            "eval_cost_usd": self.eval_cost_usd,
            "cost_per_request_usd": self.cost_per_request_usd,
            "cost_per_1k_requests_usd": self.cost_per_1k_requests_usd,
            "cost_per_success_usd": self.cost_per_success_usd,
            **{f"{scorer}/pass_rate": rate for scorer, rate in self.scorer_pass_rates.items()},
            **{name: self.load(name) for name in LOAD_FIGURES},
            **{f"load/{name}": value for name, value in self.load_metrics.items()},
        }
        return {name: float(value) for name, value in figures.items() if value is not None}


def dominates(a: SettingFigures, b: SettingFigures) -> bool:
    """a is at least as cheap per success and at least as good, and strictly better on one."""
    ca, cb = a.cost_per_success_usd, b.cost_per_success_usd
    if ca is None or cb is None:
        return False
    return ca <= cb and a.pass_rate >= b.pass_rate and (ca < cb or a.pass_rate > b.pass_rate)


def pareto_front(settings: Sequence[SettingFigures]) -> list[SettingFigures]:
    """The settings no other dominates, among those with a cost per successful task; by cost."""
    candidates = [s for s in settings if s.cost_per_success_usd is not None]
    front = [s for s in candidates if not any(dominates(other, s) for other in candidates if other is not s)]
    return sorted(front, key=_rank)


def best(settings: Sequence[SettingFigures]) -> SettingFigures | None:
    """The front's lowest cost per successful task (ties: higher pass rate, then name); None if no setting passed a task."""
    front = pareto_front(settings)
    return front[0] if front else None


def _rank(setting: SettingFigures) -> tuple:
    return (setting.cost_per_success_usd, -setting.pass_rate, setting.name)


def last_line(settings: Sequence[SettingFigures], chosen: SettingFigures | None) -> str:
    """The CLI's last line: `compare settings=N best=<name> cost_per_success_usd=X pass_rate=Y`
    (`best=none cost_per_success_usd=nan pass_rate=nan` when no setting passed a task)."""
    if chosen is None:
        return f"compare settings={len(settings)} best=none cost_per_success_usd=nan pass_rate=nan"
    return (
        f"compare settings={len(settings)} best={chosen.name} "
        f"cost_per_success_usd={chosen.cost_per_success_usd:.6g} pass_rate={chosen.pass_rate:.4f}"
    )
