"""An AWS Budgets monthly cost budget for one environment, filtered by its cost-allocation tags.

Alerts go to email addresses directly and, optionally, to the environment's KMS-encrypted alarm
topic. Publishing to that topic needs two grants to `budgets.amazonaws.com`: `sns:Publish` in
the topic policy, limited to this account and this budget's ARN (as the AWS Budgets guide
documents), and use of the topic's key for SNS encryption, limited to this account (the same
condition the key already carries for CloudWatch alarms).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from kit_config.budget_schema import BudgetConfig

BUDGETS_PRINCIPAL = "budgets.amazonaws.com"


@dataclass(frozen=True)
class AlarmTopicTarget:
    topic: sns.Topic
    key: kms.IKey  # the topic's encryption key


@dataclass(frozen=True)
class CostBudgetProps:
    config: BudgetConfig
    budget_name: str
    cost_allocation_tags: dict[str, str]  # tag key -> value; a cost counts only if it carries all of them
    emails: list[str]
    alarm_topic: AlarmTopicTarget | None  # None: email only


class CostBudget(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: CostBudgetProps) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.budget_name = props.budget_name
        self.budget_arn = f"arn:{stack.partition}:budgets::{stack.account}:budget/{props.budget_name}"
        subscribers = [
            budgets.CfnBudget.SubscriberProperty(subscription_type="EMAIL", address=address) for address in props.emails
        ]
        if props.alarm_topic is not None:
            self._allow_budget_to_publish(props.alarm_topic, stack.account)
            subscribers.append(
                budgets.CfnBudget.SubscriberProperty(subscription_type="SNS", address=props.alarm_topic.topic.topic_arn)
            )
        config = props.config
        self.budget = budgets.CfnBudget(
            self,
            "Budget",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_name=props.budget_name,
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(amount=config.monthly_limit_usd, unit="USD"),
                # FilterExpression (not the legacy CostFilters, whose TagKeyValue list is OR-ed):
                # costs must carry every tag, e.g. Project=governed-agents AND Environment=dev.
                filter_expression=budgets.CfnBudget.ExpressionProperty(
                    and_=[
                        budgets.CfnBudget.ExpressionProperty(
                            tags=budgets.CfnBudget.TagValuesProperty(key=key, values=[value], match_options=["EQUALS"])
                        )
                        for key, value in props.cost_allocation_tags.items()
                    ]
                ),
                metrics=["UnblendedCost"],
            ),
            notifications_with_subscribers=[
                _notification("ACTUAL", threshold, subscribers) for threshold in config.alert_thresholds_percent
            ]
            + (
                []
                if config.forecast_alert_percent is None
                else [_notification("FORECASTED", config.forecast_alert_percent, subscribers)]
            ),
        )

    def _allow_budget_to_publish(self, target: AlarmTopicTarget, account: str) -> None:
        target.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"BudgetsPublish{self.budget_name.replace('-', '')}"[:100],
                principals=[iam.ServicePrincipal(BUDGETS_PRINCIPAL)],
                actions=["sns:Publish"],
                resources=[target.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {"aws:SourceArn": self.budget_arn},
                },
            )
        )
        target.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="BudgetsPublishToEncryptedTopic",
                principals=[iam.ServicePrincipal(BUDGETS_PRINCIPAL)],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" is this key
                conditions={"StringEquals": {"aws:SourceAccount": account}},
            )
        )


def _notification(
    kind: str, threshold: float, subscribers: list
) -> budgets.CfnBudget.NotificationWithSubscribersProperty:
    return budgets.CfnBudget.NotificationWithSubscribersProperty(
        notification=budgets.CfnBudget.NotificationProperty(
            notification_type=kind, comparison_operator="GREATER_THAN", threshold=threshold, threshold_type="PERCENTAGE"
        ),
        subscribers=subscribers,
    )
