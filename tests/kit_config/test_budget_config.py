"""The `budget:` section: a positive limit, increasing thresholds within Budgets' quotas, someone to notify."""

from __future__ import annotations

from functools import partial

import pytest

from kit_config import load_environment
from tests.kit_config.conftest import assert_rejected
from tests.kit_config.conftest import edit as edit_env

edit = partial(edit_env, section="budget")

BAD = {
    "zero limit": ("dev", lambda b: b.update(monthly_limit_usd=0), "budget.monthly_limit_usd", "greater than 0"),
    "limit as a string": (
        "dev",
        lambda b: b.update(monthly_limit_usd="1200"),
        "budget.monthly_limit_usd",
        "valid number",
    ),
    "thresholds not increasing": (
        "dev",
        lambda b: b.update(alert_thresholds_percent=[100, 80]),
        "budget.alert_thresholds_percent",
        "must be strictly increasing",
    ),
    "threshold of zero": (
        "staging",
        lambda b: b.update(alert_thresholds_percent=[0, 100]),
        "budget.alert_thresholds_percent",
        "not a percentage of the limit",
    ),
    "forecast above 1000 %": (
        "prod",
        lambda b: b.update(forecast_alert_percent=1500),
        "budget.forecast_alert_percent",
        "not a percentage of the limit",
    ),
    "more alerts than Budgets allows": (
        "dev",
        lambda b: b.update(alert_thresholds_percent=[50, 80, 90, 100, 120]),
        "budget",
        "6 alerts (actual thresholds plus forecast); AWS Budgets allows at most 5",
    ),
    "too many email subscribers": (
        "prod",
        lambda b: b.update(emails=[f"a{i}@example.com" for i in range(11)]),
        "budget.emails",
        "at most 10",
    ),
    "malformed email": (
        "prod",
        lambda b: b.update(emails=["finops"]),
        "budget.emails[0]",
        "String should match pattern",
    ),
    "misspelt key": ("dev", lambda b: b.update(monthly_limit=5), "budget.monthly_limit", "unknown key"),
    "nobody to notify": ("dev", lambda b: b.update(emails=[]), "budget", "the budget would notify nobody"),
}


@pytest.mark.parametrize("env, change, field, words", BAD.values(), ids=BAD.keys())
def test_bad_budget_settings_name_file_and_field(config_dir, env, change, field, words):
    edit(config_dir, env, change)
    assert_rejected(config_dir, env, field, words)


def test_every_environment_must_have_a_budget(config_dir):
    edit_env(config_dir, "staging", lambda data: data.pop("budget"))
    assert_rejected(config_dir, "staging", "budget", "required key is missing")


def test_no_alarm_subscribers_and_no_budget_emails_is_rejected(config_dir):
    edit_env(config_dir, "dev", lambda data: data["alarms"].update(email_subscriptions=[]))
    assert_rejected(config_dir, "dev", "budget", "the budget would notify nobody")


def test_the_alarm_topic_alone_is_a_recipient(config_dir):
    edit(config_dir, "dev", lambda b: b.update(emails=[], notify_alarm_topic=True))
    budget = load_environment("dev", config_dir).budget
    assert budget.recipients(["oncall@example.com"]) == [] and budget.notify_alarm_topic


def test_emails_default_to_the_alarm_subscribers():
    dev = load_environment("dev")
    assert dev.budget.emails is None
    assert dev.budget.recipients(dev.alarms.email_subscriptions) == ["ml-platform-dev@example.com"]
    prod = load_environment("prod")
    assert prod.budget.recipients(prod.alarms.email_subscriptions) == ["finops@example.com"]


def test_defaults_alert_at_80_and_100_percent_and_on_forecast(config_dir):
    edit_env(config_dir, "dev", lambda data: data.update(budget={"monthly_limit_usd": 500}))
    budget = load_environment("dev", config_dir).budget
    assert budget.alert_thresholds_percent == [80.0, 100.0]
    assert budget.forecast_alert_percent == 100.0 and budget.notify_alarm_topic is False
