"""CloudWatch alarms that notify the environment's (KMS-encrypted) alarm topic on breach and recovery."""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_sns as sns
from constructs import Construct


def notifying_alarm(
    scope: Construct,
    construct_id: str,
    *,
    alarm_name: str,
    description: str,
    metric: cloudwatch.IMetric,
    threshold: float,
    evaluation_periods: int,
    topic: sns.ITopic,
) -> cloudwatch.Alarm:
    """Alarm when `metric` > `threshold`; missing data (no traffic) is not a breach."""
    alarm = cloudwatch.Alarm(
        scope,
        construct_id,
        alarm_name=alarm_name,
        alarm_description=description,
        metric=metric,
        threshold=threshold,
        evaluation_periods=evaluation_periods,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    action = cloudwatch_actions.SnsAction(topic)
    alarm.add_alarm_action(action)
    alarm.add_ok_action(action)
    return alarm
