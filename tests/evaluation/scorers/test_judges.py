"""The LLM judges join the scorers only when a judge model is configured (never called here: no network)."""

from __future__ import annotations

import pytest
from mlflow.genai.scorers import Correctness, Guidelines

from evaluation.scorers import build_scorers
from evaluation.scorers.judges import check_judge_model

DETERMINISTIC = ["tool_choice", "facts_present", "latency_within_budget", "cost_within_budget"]


def test_without_a_judge_model_only_the_deterministic_scorers_run():
    assert [s.name for s in build_scorers(None, ["be brief"])] == DETERMINISTIC


def test_a_judge_model_adds_correctness_and_the_guidelines_judge_with_that_model():
    scorers = build_scorers("openai:/gpt-4o-mini", ["be brief", "never repeat a password"])
    assert [s.name for s in scorers] == [*DETERMINISTIC, "correctness", "support_guidelines"]
    correctness, guidelines = scorers[-2:]
    assert isinstance(correctness, Correctness) and correctness.model == "openai:/gpt-4o-mini"
    assert isinstance(guidelines, Guidelines) and guidelines.model == "openai:/gpt-4o-mini"
    assert guidelines.guidelines == ["be brief", "never repeat a password"]


def test_without_guidelines_only_correctness_is_added():
    assert [s.name for s in build_scorers("anthropic:/claude-3-5-haiku-latest", [])] == [*DETERMINISTIC, "correctness"]


@pytest.mark.parametrize("uri", ["gpt-4o-mini", "openai:gpt-4o-mini", ":/model", "openai:/", ""])
def test_a_judge_model_that_is_not_a_model_uri_is_rejected(uri):
    with pytest.raises(ValueError, match="provider>:/<model>"):
        check_judge_model(uri)
