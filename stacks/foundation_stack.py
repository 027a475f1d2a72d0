"""Per-environment foundation: the KMS keys and the alarm topic every other stack uses."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from kit_config import EnvironmentConfig
from kit_constructs.encryption_keys import EnvironmentKeys, EnvironmentKeysProps


class FoundationStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.keys = EnvironmentKeys(
            self,
            "Keys",
            EnvironmentKeysProps(
                env_name=config.name,
                project=config.tags.Project,
                removal_policy=removal_policy(config),
            ),
        )
        self.alarm_topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name=f"{config.tags.Project} {config.name} alarms",
            master_key=self.keys.notifications,
            enforce_ssl=True,
        )
        for address in config.alarms.email_subscriptions:
            self.alarm_topic.add_subscription(subscriptions.EmailSubscription(address))


def removal_policy(config: EnvironmentConfig) -> RemovalPolicy:
    return RemovalPolicy.RETAIN if config.removal_policy == "retain" else RemovalPolicy.DESTROY
