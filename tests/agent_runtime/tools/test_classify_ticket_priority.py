"""classify_ticket_priority: each rule fires, thresholds, negations, false-positive guards."""

from __future__ import annotations

import importlib
import re

import pytest

mod = importlib.import_module("agent_runtime.tools.classify_ticket_priority")
classify = mod.classify_ticket_priority
kb = importlib.import_module("agent_runtime.tools.search_knowledge_base")


def reasons(*args, **kwargs) -> str:
    return " | ".join(classify(*args, **kwargs)["reasons"])


@pytest.mark.parametrize(
    ("summary", "users", "service", "expected"),
    [
        ("Production database down for all users", 1, "", "P1"),
        ("Checkout API returning 500 errors", 250, "checkout-api prod", "P1"),
        ("I clicked a phishing link and typed my password", 1, "", "P1"),
        ("Customer records corrupted after migration", 30, "orders prod", "P1"),
        ("Expense tool is down, no workaround", 300, "internal expense tool", "P2"),
        ("Orders API slow", 200, "orders-api production", "P2"),
        ("Lost data after shared-drive sync", 1, "", "P2"),
        ("Payments API down", 1, "payments-api prod", "P2"),
        ("My VPN is down", 1, "", "P3"),
        ("Laptop battery drains fast", 1, "", "P3"),
        ("Staging environment is down", 10, "", "P3"),
        ("Wiki is down for the team but we have a workaround", 30, "internal wiki", "P3"),
        ("How do I request access to the finance share?", 1, "", "P4"),
        ("Question: typo in the drop-down label; workaround is to ignore it", 1, "", "P4"),
        ("Feature request: dark mode for the intranet", 40, "", "P4"),
    ],
)
def test_priorities(summary, users, service, expected):
    assert classify(summary, users, service)["priority"] == expected


def test_result_shape_and_labels():
    out = classify("Production database down for all users")
    assert set(out) == {"priority", "label", "score", "response_target", "reasons"}
    assert (out["priority"], out["label"], out["score"]) == ("P1", "Critical", 10)
    assert out["response_target"].startswith("15 minutes")
    assert out["reasons"] == [
        "outage indicator 'down' (+3)",
        "summary says 'all users' is affected (treated as 100+ users) (+3)",
        "production or customer-facing service ('production') (+2)",
    ]


@pytest.mark.parametrize(
    ("summary", "service", "fragment"),
    [
        ("suspected breach of the CRM", "", "security incident indicator 'breach' (+6)"),
        ("data loss on the file server", "", "data loss indicator 'data loss' (+4)"),
        ("CRM unavailable", "", "outage indicator 'unavailable' (+3)"),
        ("CRM intermittently slow", "", "degradation indicator 'intermittently' (+1)"),
        ("everyone is affected", "", "summary says 'everyone' is affected"),
        ("login page error", "web prod", "production or customer-facing service ('prod') (+2)"),
        ("login page error", "uat", "non-production environment ('uat') (-1)"),
        ("error in the sandbox", "", "non-production environment ('sandbox') (-1)"),
        ("printer jams; workaround: use floor 2", "", "workaround available ('workaround') (-2)"),
        ("cosmetic: misaligned logo", "", "('cosmetic') (-3)"),
    ],
)
def test_each_rule_fires_with_its_reason(summary, service, fragment):
    assert fragment in reasons(summary, 1, service)


def test_outage_beats_degradation_and_only_one_impact_rule_of_that_kind_counts():
    r = reasons("site down and slow with errors")
    assert "outage indicator 'down'" in r and "degradation" not in r


@pytest.mark.parametrize(("users", "points"), [(1, 0), (4, 0), (5, 1), (19, 1), (20, 2), (99, 2), (100, 3), (5000, 3)])
def test_affected_user_thresholds(users, points):
    base = classify("printer jam", 1)["score"]
    assert classify("printer jam", users)["score"] - base == points


def test_affected_users_below_one_is_treated_as_one():
    assert classify("printer jam", 0) == classify("printer jam", 1) == classify("printer jam", -3)


def test_all_users_phrase_does_not_double_count_a_large_number():
    assert classify("outage for all users", 500)["score"] == classify("outage", 500)["score"]


def test_security_incident_is_always_p1_even_with_mitigating_rules():
    out = classify("Question: my laptop was stolen, I have a workaround (loaner)", 1, "dev")
    assert out["priority"] == "P1" and out["score"] < 9
    assert out["reasons"][-1] == "raised to P1: security incidents are always P1"


@pytest.mark.parametrize(
    "summary", ["VPN down, no workaround", "VPN down without a workaround", "VPN down, the workaround does not work"]
)
def test_negated_workaround_does_not_lower_priority(summary):
    assert classify(summary)["score"] == classify("VPN down")["score"]
    assert "workaround" not in reasons(summary)


@pytest.mark.parametrize(
    "summary", ["The drop-down menu label is wrong", "Need to scroll down to find the button", "Form dropdown is empty"]
)
def test_down_in_ui_phrases_is_not_an_outage(summary):
    assert "outage" not in reasons(summary)


def test_slowed_down_is_degradation_not_outage():
    r = reasons("The wiki slowed down this morning")
    assert "degradation indicator 'slowed'" in r and "outage" not in r


def test_words_inside_other_words_do_not_fire():
    # "download", "product", "device", "tested" must not trigger outage / production / non-production.
    r = reasons("Cannot download the product catalogue to my device; tested twice")
    assert "outage" not in r and "production" not in r


def test_free_text_test_is_not_an_environment_but_test_service_is():
    assert "non-production" not in reasons("test email bounced")
    assert "non-production environment ('test')" in reasons("email bounced", 1, "test")


@pytest.mark.parametrize("service", ["non-prod", "non prod", "nonprod", "reporting non-production"])
def test_non_prod_is_not_mistaken_for_prod(service):
    r = reasons("report fails", 1, service)
    assert "non-production environment" in r and "customer-facing" not in r


def test_no_rule_fired_is_explained():
    assert classify("Laptop battery drains fast")["reasons"] == ["no rule fired: ordinary single-user issue"]


def test_deterministic():
    args = ("Payments API down, customers cannot pay", 120, "payments prod")
    assert classify(*args) == classify(*args)


def test_docstring_documents_the_thresholds_and_rules_the_code_uses():
    doc = classify.tool_spec["description"]
    assert "Score 9+ is P1, 6-8 P2, 2-5 P3, below 2 P4" in doc
    assert [t for t, _ in mod.THRESHOLDS] == [9, 6, 2]
    for fragment in ("+6", "+4", "+3", "+1", "100+", "20+", "5+", "-1", "-2", "-3", "Start at 2 points"):
        assert fragment in doc
    assert mod.BASELINE == 2


def test_response_targets_match_the_severity_article():
    article = next(a for a in kb.load_articles() if a.id == "incident-severity-escalation")
    body = " ".join(article.body.split())
    for priority, target in mod.RESPONSE_TARGETS.items():
        section = re.search(rf"- {priority} \((\w+)\):(.*?)(?= - P\d|$)", body)
        assert section, priority
        assert section.group(1) == mod.LABELS[priority]
        assert re.split(r",| during", target)[0] in section.group(2), priority
