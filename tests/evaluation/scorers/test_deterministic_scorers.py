"""Each deterministic scorer on hand-built predictions that pass and that fail."""

from __future__ import annotations

import pytest

from evaluation.scorers import DETERMINISTIC_SCORERS
from evaluation.scorers.cost_budget import cost_within_budget
from evaluation.scorers.facts_present import facts_present
from evaluation.scorers.latency_budget import latency_within_budget
from evaluation.scorers.tool_choice import tool_choice

BUDGETS = {"latency_budget_ms": 1000.0, "cost_budget_usd": 0.001}


def answer(text: str = "", tools: list[str] | None = None, latency_ms: float = 10.0, cost: float = 0.0) -> dict:
    return {"answer": text, "tools_used": tools or [], "latency_ms": latency_ms, "estimated_cost_usd": cost}


def verdict(scorer, outputs, expectations) -> tuple[bool, str]:
    feedback = scorer(outputs=outputs, expectations={**BUDGETS, **expectations})
    return feedback.value, feedback.rationale


# --- tool_choice -------------------------------------------------------------------------------


def test_tool_choice_passes_when_every_expected_tool_was_called_in_any_order_with_extras():
    ok, why = verdict(
        tool_choice,
        answer(tools=["classify_ticket_priority", "search_knowledge_base", "current_time"]),
        {"expected_tools": ["search_knowledge_base", "classify_ticket_priority"]},
    )
    assert ok is True, why


def test_tool_choice_fails_and_names_the_missing_tool():
    ok, why = verdict(tool_choice, answer(tools=["current_time"]), {"expected_tools": ["search_knowledge_base"]})
    assert ok is False and "search_knowledge_base" in why and "current_time" in why


def test_tool_choice_fails_when_no_tool_was_called_but_one_was_expected():
    ok, why = verdict(tool_choice, answer(), {"expected_tools": ["current_time"]})
    assert ok is False and "no tool" in why


def test_tool_choice_expecting_no_tool_passes_only_when_none_was_called():
    assert verdict(tool_choice, answer(tools=[]), {"expected_tools": []})[0] is True
    ok, why = verdict(tool_choice, answer(tools=["search_knowledge_base"]), {"expected_tools": []})
    assert ok is False and "search_knowledge_base" in why


# --- facts_present -----------------------------------------------------------------------------

FACTS = {"fact_alternatives": [["vpn-access"], ["Europe-2", "US-East-2"]]}


def test_facts_present_matches_case_insensitively_and_takes_any_alternative():
    ok, why = verdict(facts_present, answer("Per VPN-ACCESS, switch to the us-east-2 gateway."), FACTS)
    assert ok is True and "2/2" in why


def test_facts_present_fails_and_lists_the_missing_fact():
    ok, why = verdict(facts_present, answer("See vpn-access: restart your router."), FACTS)
    assert ok is False and "1/2" in why and "Europe-2/US-East-2" in why


def test_facts_present_without_facts_needs_a_non_empty_answer():
    assert verdict(facts_present, answer("Hello! How can I help?"), {"fact_alternatives": []})[0] is True
    assert verdict(facts_present, answer("   "), {"fact_alternatives": []})[0] is False


# --- budgets -----------------------------------------------------------------------------------


def test_latency_within_budget_passes_at_the_budget_and_fails_above_it():
    assert verdict(latency_within_budget, answer(latency_ms=1000.0), {})[0] is True
    ok, why = verdict(latency_within_budget, answer(latency_ms=1000.1), {})
    assert ok is False and "budget 1000 ms" in why


def test_latency_budget_is_the_cases_own():
    assert verdict(latency_within_budget, answer(latency_ms=5000), {"latency_budget_ms": 8000.0})[0] is True


def test_cost_within_budget_passes_at_the_budget_and_fails_above_it():
    assert verdict(cost_within_budget, answer(cost=0.001), {})[0] is True
    ok, why = verdict(cost_within_budget, answer(cost=0.0011), {})
    assert ok is False and "$0.001100 > budget $0.001000" in why


# --- an agent error is a failed case for every scorer ------------------------------------------


@pytest.mark.parametrize("scorer", DETERMINISTIC_SCORERS, ids=lambda s: s.name)
def test_an_agent_error_fails_every_scorer_with_the_error_as_rationale(scorer):
    outputs = {"answer": "", "error": 'HTTP 504: {"error": {"code": "ModelTimeout"}}', "status": 504}
    ok, why = verdict(scorer, outputs, {"expected_tools": [], "fact_alternatives": []})
    assert ok is False and "HTTP 504" in why
