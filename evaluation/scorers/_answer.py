"""What every scorer reads from one prediction (the agent's final answer, see agent_client.py)."""

from __future__ import annotations

from mlflow.entities import Feedback


def failed_request(outputs: dict | None) -> Feedback | None:
    """A failing Feedback when the agent answered with an error (nothing to score), else None."""
    if not isinstance(outputs, dict):
        return Feedback(value=False, rationale=f"no answer to score (outputs: {outputs!r})")
    if outputs.get("error"):
        return Feedback(value=False, rationale=f"the agent answered with an error: {outputs['error']}")
    return None
