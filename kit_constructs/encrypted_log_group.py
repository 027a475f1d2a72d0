"""A CloudWatch log group that is always KMS-encrypted and always has a retention."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from kit_config.schema import CLOUDWATCH_RETENTION_DAYS

# RetentionDays is a jsii enum keyed by name (ONE_MONTH...); its members list CloudWatch's
# accepted periods in ascending order, followed by INFINITE.
_RETENTION = dict(
    zip(CLOUDWATCH_RETENTION_DAYS, list(logs.RetentionDays)[: len(CLOUDWATCH_RETENTION_DAYS)], strict=True)
)


@dataclass(frozen=True)
class EncryptedLogGroupProps:
    key: kms.IKey
    retention_days: int
    removal_policy: RemovalPolicy
    log_group_name: str | None = None


class EncryptedLogGroup(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: EncryptedLogGroupProps) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=props.log_group_name,
            encryption_key=props.key,
            retention=_RETENTION[props.retention_days],
            removal_policy=props.removal_policy,
        )

    @property
    def log_group_arn(self) -> str:
        return self.log_group.log_group_arn

    def grant_write(self, grantee: iam.IGrantable) -> iam.Grant:
        """Create log streams and put events in this group (and nothing else)."""
        return self.log_group.grant_write(grantee)
