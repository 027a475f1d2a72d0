"""The evaluation's scorers: one deterministic check per module, plus optional LLM judges.

Each module defines one MLflow scorer (`@scorer`) whose name is the metric prefix MLflow logs
(`tool_choice/mean` = the pass rate). Judges join only when a judge model is configured.
"""

from __future__ import annotations

from mlflow.genai.scorers import Scorer

from evaluation.scorers.cost_budget import cost_within_budget
from evaluation.scorers.facts_present import facts_present
from evaluation.scorers.latency_budget import latency_within_budget
from evaluation.scorers.tool_choice import tool_choice

DETERMINISTIC_SCORERS: tuple[Scorer, ...] = (tool_choice, facts_present, latency_within_budget, cost_within_budget)


def build_scorers(judge_model: str | None = None, judge_guidelines: list[str] | None = None) -> list[Scorer]:
    scorers = list(DETERMINISTIC_SCORERS)
    if judge_model:
        from evaluation.scorers.judges import judge_scorers

        scorers += judge_scorers(judge_model, judge_guidelines or [])
    return scorers
