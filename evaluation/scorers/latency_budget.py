"""latency_within_budget: the agent's own measured latency (`usage.latency_ms`) fits the budget.

The agent's figure, not the HTTP round trip: the same budget holds for a local stack and for a
deployed agent behind a network.
"""

from __future__ import annotations

from mlflow.entities import Feedback
from mlflow.genai.scorers import scorer

from evaluation.scorers._answer import failed_request


@scorer(name="latency_within_budget")
def latency_within_budget(outputs: dict, expectations: dict) -> Feedback:
    if failure := failed_request(outputs):
        return failure
    latency, budget = float(outputs.get("latency_ms") or 0), float(expectations["latency_budget_ms"])
    return Feedback(
        value=latency <= budget,
        rationale=f"{latency:.0f} ms {'<=' if latency <= budget else '>'} budget {budget:.0f} ms",
    )
