"""Customer-managed KMS keys, one per purpose, each usable only through the service it serves.

One key per purpose (not one per environment) so that each key policy names a single service:
a principal allowed to decrypt S3 objects cannot use the same grant to read log events or
SageMaker volumes, and each key can be rotated, audited and, if compromised, disabled without
touching the others.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from kit_config.resource_names import kms_alias

# Key-management actions for the account (so the key can never become unmanageable);
# deliberately without Encrypt/Decrypt/GenerateDataKey, which only the service statements grant.
ADMIN_ACTIONS = [
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
]


def account_key_administration() -> iam.PolicyStatement:
    """The key policy statement every kit key starts with: the account administers it, nothing more."""
    return iam.PolicyStatement(
        sid="AccountKeyAdministration",
        principals=[iam.AccountRootPrincipal()],
        actions=ADMIN_ACTIONS,
        resources=["*"],
    )


# Every customer-managed key of an environment: EnvironmentKeys' five encryption keys and
# CallerIdKey's HMAC key (`make cost` counts them; a test checks the templates agree).
KEY_PURPOSES = ("logs", "storage", "inference", "notifications", "functions", "caller-ids")
_USE_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]


@dataclass(frozen=True)
class EnvironmentKeysProps:
    env_name: str
    project: str
    removal_policy: RemovalPolicy


class EnvironmentKeys(Construct):
    """The environment's keys: `logs`, `storage` (S3), `inference` (SageMaker), `notifications` (SNS),
    `functions` (Lambda functions' environment variables)."""

    def __init__(self, scope: Construct, construct_id: str, props: EnvironmentKeysProps) -> None:
        super().__init__(scope, construct_id)
        self._props = props
        stack = Stack.of(self)
        account, region = stack.account, stack.region

        self.logs = self._key("Logs", "logs", "CloudWatch Logs log groups")
        # CloudWatch Logs encrypts with the key itself (not as a caller's proxy), limited to
        # log groups of this account and region by the encryption context it always sends.
        self.logs.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogsUse",
                principals=[iam.ServicePrincipal(f"logs.{region}.amazonaws.com")],
                actions=_USE_ACTIONS,
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": f"arn:{stack.partition}:logs:{region}:{account}:log-group:*"
                    }
                },
            )
        )

        self.storage = self._key("Storage", "storage", "S3 buckets")
        self._allow_use_via_service(self.storage, "s3")

        self.inference = self._key("Inference", "inference", "SageMaker model volumes and endpoints")
        self._allow_use_via_service(self.inference, "sagemaker", extra_actions=["kms:CreateGrant"])

        # Lambda encrypts a function's environment variables with this key instead of the AWS managed aws/lambda
        # key (CloudFormation KmsKeyArn): at create and update as the deploying principal, and at every cold start
        # as the function's execution role, which needs kms:Decrypt on it (granted by the function's construct);
        # both calls come through Lambda ("Securing Lambda environment variables",
        # https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-encryption.html).
        # Enforced for every function by Kit-LambdaEnvironmentCustomerKey.
        self.functions = self._key("Functions", "functions", "Lambda function environment variables")
        self._allow_use_via_service(self.functions, "lambda")

        self.notifications = self._key("Notifications", "notifications", "SNS alarm topics")
        self._allow_use_via_service(self.notifications, "sns")
        # CloudWatch alarms publish to encrypted topics as the cloudwatch service principal.
        self.notifications.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": account}},
            )
        )

    def _key(self, construct_id: str, purpose: str, used_for: str) -> kms.Key:
        props = self._props
        key = kms.Key(
            self,
            construct_id,
            alias=kms_alias(props.project, props.env_name, purpose),
            description=f"{props.project} {props.env_name}: {used_for}",
            enable_key_rotation=True,
            rotation_period=Duration.days(365),
            pending_window=Duration.days(30),
            removal_policy=self._props.removal_policy,
            # An explicit policy replaces CDK's default "account root may do kms:*".
            policy=iam.PolicyDocument(statements=[account_key_administration()]),
        )
        return key

    @staticmethod
    def _allow_use_via_service(key: kms.Key, service: str, extra_actions: list[str] | None = None) -> None:
        """Let this account's IAM principals use the key, but only through `service`.

        IAM policies (the constructs' grant_* methods) still decide which principal may;
        this statement decides that no principal may use the key outside that service.
        """
        stack = Stack.of(key)
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"UseVia{service.capitalize()}",
                principals=[iam.AccountRootPrincipal()],
                actions=_USE_ACTIONS + (extra_actions or []),
                resources=["*"],
                conditions={
                    "StringEquals": {
                        "kms:ViaService": f"{service}.{stack.region}.amazonaws.com",
                        "kms:CallerAccount": stack.account,
                    }
                },
            )
        )
