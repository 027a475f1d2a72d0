"""Per-environment foundation: the KMS keys, the alarm topic and the access-log bucket every other stack uses."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from kit_config import EnvironmentConfig
from kit_constructs.acknowledgments import acknowledge, finding_id
from kit_constructs.caller_id_key import CallerIdKey, CallerIdKeyProps
from kit_constructs.encryption_keys import EnvironmentKeys, EnvironmentKeysProps
from kit_constructs.secure_bucket import AccessLogBucket, AccessLogBucketProps


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
        # Retained with the other keys: losing it orphans every stored session (kit_constructs.caller_id_key).
        self.caller_ids = CallerIdKey(
            self,
            "CallerIds",
            CallerIdKeyProps(env_name=config.name, project=config.tags.Project, removal_policy=removal_policy(config)),
        )
        self.alarm_topic = self._alarm_topic(config)
        self.access_logs = self._access_logs(config)

    def _alarm_topic(self, config: EnvironmentConfig) -> sns.Topic:
        """KMS-encrypted, TLS only, published to by this account's CloudWatch alarms."""
        topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name=f"{config.tags.Project} {config.name} alarms",
            master_key=self.keys.notifications,
            enforce_ssl=True,
        )
        # enforce_ssl adds a topic policy, which replaces SNS's default one: CloudWatch alarms (a service
        # principal) need their own Allow, limited to this account's alarms (confused-deputy protection;
        # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html).
        # AWS Budgets gets its own statement from CostBudget. Enforced by Kit-SnsPublishersAllowed.
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": self.account},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{self.partition}:cloudwatch:{self.region}:{self.account}:alarm:*"
                    },
                },
            )
        )
        for address in config.alarms.email_subscriptions:
            topic.add_subscription(subscriptions.EmailSubscription(address))
        return topic

    def _access_logs(self, config: EnvironmentConfig) -> AccessLogBucket:
        # The environment's S3 server access log target; every SecureBucket in later stacks logs here.
        access_logs = AccessLogBucket(
            self,
            "AccessLogs",
            AccessLogBucketProps(retention_days=config.log_retention_days, removal_policy=removal_policy(config)),
        )
        # Buckets in other stacks get a log-delivery grant without CDK's source conditions (their ARNs
        # would make this stack depend on theirs); this keeps delivery to this account's buckets.
        access_logs.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="LogDeliveryFromThisAccountOnly",
                effect=iam.Effect.DENY,
                principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[access_logs.bucket.arn_for_objects("*")],
                conditions={"StringNotEquals": {"aws:SourceAccount": self.account}},
            )
        )
        # The packs see a bucket's log target only within one stack; the buckets that log here live
        # in other stacks. Logging the log bucket itself would need yet another log bucket.
        log_target = (
            "This is the environment's S3 server access log target; AWS advises against logging a log "
            "bucket to itself, and API access to it is recorded by CloudTrail."
        )
        acknowledge(
            access_logs.bucket,
            {
                finding_id(rule_id): log_target
                for rule_id in (
                    "AwsSolutions-S1",
                    "HIPAA.Security-S3BucketLoggingEnabled",
                    "NIST.800.53.R5-S3BucketLoggingEnabled",
                )
            },
        )

        return access_logs


def removal_policy(config: EnvironmentConfig) -> RemovalPolicy:
    """`retain` keeps resources on stack deletion and replacement, but not after a failed first create.

    CloudFormation's `RetainExceptOnCreate`: with plain `Retain`, a first deploy that rolls back
    leaves named resources (log groups, the MLflow bucket and tracking server) behind, and the
    retry fails with "already exists" ("DeletionPolicy attribute", CloudFormation User Guide:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html).
    Enforced by Kit-RetainExceptOnCreate.
    """
    return RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE if config.removal_policy == "retain" else RemovalPolicy.DESTROY
