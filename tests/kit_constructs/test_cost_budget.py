"""CostBudget: the configured limit and alerts on the env's tags; Budgets may publish only to its own env's topic."""

from __future__ import annotations

import pytest

from tests.helpers import ENVIRONMENTS, only, resources


def budget(synthesized, env: str) -> dict:
    return only(resources(synthesized.templates[(env, "Observability")], "AWS::Budgets::Budget"))["Properties"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_monthly_limit_and_tag_filter_from_config(synthesized, env):
    config = synthesized.configs[env]
    data = budget(synthesized, env)["Budget"]
    assert data["BudgetLimit"] == {"Amount": config.budget.monthly_limit_usd, "Unit": "USD"}
    assert (data["BudgetType"], data["TimeUnit"]) == ("COST", "MONTHLY")
    assert data["BudgetName"] == f"governed-agents-{env}-monthly"
    # AND of both tags: Project alone would count every environment's spend.
    assert data["FilterExpression"] == {
        "And": [
            {"Tags": {"Key": "Project", "Values": ["governed-agents"], "MatchOptions": ["EQUALS"]}},
            {"Tags": {"Key": "Environment", "Values": [env], "MatchOptions": ["EQUALS"]}},
        ]
    }
    assert "CostFilters" not in data


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_actual_and_forecast_alerts(synthesized, env):
    config = synthesized.configs[env].budget
    notifications = [n["Notification"] for n in budget(synthesized, env)["NotificationsWithSubscribers"]]
    actual = [n["Threshold"] for n in notifications if n["NotificationType"] == "ACTUAL"]
    forecast = [n["Threshold"] for n in notifications if n["NotificationType"] == "FORECASTED"]
    assert actual == config.alert_thresholds_percent
    assert forecast == [config.forecast_alert_percent]
    assert {(n["ComparisonOperator"], n["ThresholdType"]) for n in notifications} == {("GREATER_THAN", "PERCENTAGE")}


def test_dev_emails_the_alarm_subscribers_only(synthesized):
    for notification in budget(synthesized, "dev")["NotificationsWithSubscribers"]:
        assert notification["Subscribers"] == [{"SubscriptionType": "EMAIL", "Address": "ml-platform-dev@example.com"}]
    foundation = synthesized.templates[("dev", "Foundation")]
    assert "budgets.amazonaws.com" not in str(foundation)  # no topic or key grant without notify_alarm_topic


def test_prod_emails_finops_and_publishes_to_its_alarm_topic(synthesized):
    for notification in budget(synthesized, "prod")["NotificationsWithSubscribers"]:
        email, topic = notification["Subscribers"]
        assert email == {"SubscriptionType": "EMAIL", "Address": "finops@example.com"}
        assert topic["SubscriptionType"] == "SNS"
        assert topic["Address"]["Fn::GetStackOutput"]["StackName"] == "prod-Foundation"


def test_topic_policy_admits_only_this_budget_of_this_account(synthesized):
    foundation = synthesized.templates[("prod", "Foundation")]
    statements = only(resources(foundation, "AWS::SNS::TopicPolicy"))["Properties"]["PolicyDocument"]["Statement"]
    (grant,) = [s for s in statements if s.get("Principal") == {"Service": "budgets.amazonaws.com"}]
    assert grant["Effect"] == "Allow" and grant["Action"] == "sns:Publish"
    assert grant["Resource"] == {"Ref": next(iter(resources(foundation, "AWS::SNS::Topic")))}
    assert grant["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "333333333333"},
        "ArnLike": {"aws:SourceArn": "arn:aws:budgets::333333333333:budget/governed-agents-prod-monthly"},
    }


def test_only_the_notifications_key_lets_budgets_encrypt(synthesized):
    foundation = synthesized.templates[("prod", "Foundation")]
    granted = {}
    for logical_id, key in resources(foundation, "AWS::KMS::Key").items():
        for statement in key["Properties"]["KeyPolicy"]["Statement"]:
            if statement.get("Principal") == {"Service": "budgets.amazonaws.com"}:
                granted[logical_id] = statement
    ((logical_id, statement),) = granted.items()
    assert logical_id.startswith("KeysNotifications")
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "333333333333"}}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_budget_resource_carries_the_environment_tags(synthesized, env):
    # AWS::Budgets::Budget is taggable (ResourceTags): the stage's Tags.of reaches it like any resource.
    tags = {t["Key"]: t["Value"] for t in budget(synthesized, env)["ResourceTags"]}
    assert tags == synthesized.configs[env].tags.as_dict()
