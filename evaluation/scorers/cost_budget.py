"""cost_within_budget: the agent's estimated cost of the answer (`usage.estimated_cost_usd`) fits the budget."""

from __future__ import annotations

from mlflow.entities import Feedback
from mlflow.genai.scorers import scorer

from evaluation.scorers._answer import failed_request


@scorer(name="cost_within_budget")
def cost_within_budget(outputs: dict, expectations: dict) -> Feedback:
    if failure := failed_request(outputs):
        return failure
    cost, budget = float(outputs.get("estimated_cost_usd") or 0), float(expectations["cost_budget_usd"])
    return Feedback(
        value=cost <= budget, rationale=f"${cost:.6f} {'<=' if cost <= budget else '>'} budget ${budget:.6f}"
    )
