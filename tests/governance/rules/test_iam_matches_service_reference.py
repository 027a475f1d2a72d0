"""Kit-IamMatchesServiceReference rejects statements IAM accepts but that grant nothing, at synth.

Each broken form is synthesized behind the rule (the kit pack with this rule alone) and rejected;
the fixed forms and CDK's own grant shapes pass. The kit's own templates are checked in
tests/governance/test_iam_statements.py.
"""

from __future__ import annotations

import pytest
from aws_cdk import App, Environment, Stack, Stage, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3

from governance.kit_pack import KitChecks
from governance.rules.iam_matches_service_reference import IamMatchesServiceReference
from stacks.kit_app import cdk_json_context
from tests.helpers import synth_findings

pytestmark = pytest.mark.synth

RULE = "Kit-IamMatchesServiceReference"


def findings(build, tmp_path) -> dict[str, list[str]]:
    """Synthesize `build(stage)` behind this rule alone; {finding id: [construct paths]} ({} = synth passed)."""
    app = App(outdir=str(tmp_path / "out"), context=cdk_json_context())
    stage = Stage(app, "check", env=Environment(account="123456789012", region="us-east-1"))
    build(stage)
    Validations.of(app).add_plugins(KitChecks(app, policies={}, rules=(IamMatchesServiceReference(),)))
    return synth_findings(app)


def _policy(stack: Stack, *statements: iam.PolicyStatement) -> iam.ManagedPolicy:
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("vpc-flow-logs.amazonaws.com"))
    return iam.ManagedPolicy(stack, "Policy", statements=list(statements), roles=[role])


def test_an_unknown_action_is_rejected(tmp_path):
    def build(stage):
        stack = Stack(stage, "Stack")
        _policy(stack, iam.PolicyStatement(actions=["logs:DescribeLogGroupz", "logs:Describe*"], resources=["*"]))

    assert findings(build, tmp_path) == {
        f"{RULE}[UnknownAction::logs:DescribeLogGroupz]": ["check/Stack/Policy/Resource"]
    }


def test_an_action_of_an_unknown_service_is_rejected(tmp_path):
    def build(stage):
        _policy(Stack(stage, "Stack"), iam.PolicyStatement(actions=["cloudwatchlogs:PutLogEvents"], resources=["*"]))

    assert list(findings(build, tmp_path)) == [f"{RULE}[UnknownAction::cloudwatchlogs:PutLogEvents]"]


def test_an_action_without_resource_level_permissions_on_one_log_group_is_rejected(tmp_path):
    """The flow-log role's old form: DescribeLogGroups supports only "*", so on the group's ARN it grants nothing."""

    def build(stage):
        stack = Stack(stage, "Stack")
        group = logs.LogGroup(stack, "Group")
        _policy(
            stack,
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups"],
                resources=[group.log_group_arn],
            ),
        )

    assert list(findings(build, tmp_path)) == [f"{RULE}[ResourceMatchesNoType::logs:DescribeLogGroups]"]


def test_the_fixed_flow_log_form_passes(tmp_path):
    def build(stage):
        stack = Stack(stage, "Stack")
        group = logs.LogGroup(stack, "Group")
        _policy(
            stack,
            iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[group.log_group_arn]),
            iam.PolicyStatement(actions=["logs:DescribeLogGroups"], resources=["*"]),
        )

    assert findings(build, tmp_path) == {}


def test_a_resource_of_another_service_is_rejected_through_a_cross_stack_reference(tmp_path):
    """The bucket's ARN comes from another stack (Fn::GetStackOutput / Fn::ImportValue): it is still
    typed as a bucket, and a KMS action on it grants nothing."""

    def build(stage):
        producer = Stack(stage, "Producer")
        bucket = s3.Bucket(producer, "Bucket")
        consumer = Stack(stage, "Consumer")
        _policy(
            consumer,
            iam.PolicyStatement(actions=["kms:Decrypt"], resources=[bucket.bucket_arn]),
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[bucket.arn_for_objects("*")]),
        )

    assert findings(build, tmp_path) == {
        f"{RULE}[ResourceMatchesNoType::kms:Decrypt]": ["check/Consumer/Policy/Resource"]
    }


def test_a_literal_arn_of_the_wrong_resource_type_is_rejected(tmp_path):
    """An MLflow App's ARN where the action applies to tracking servers only: the ARN's resource part decides."""

    def build(stage):
        stack = Stack(stage, "Stack")
        _policy(
            stack,
            iam.PolicyStatement(
                actions=["sagemaker:DescribeMlflowTrackingServer"],
                resources=[f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:mlflow-app/*"],
            ),
        )

    assert list(findings(build, tmp_path)) == [f"{RULE}[ResourceMatchesNoType::sagemaker:DescribeMlflowTrackingServer]"]


def test_a_condition_key_the_service_does_not_define_is_rejected(tmp_path):
    def build(stage):
        stack = Stack(stage, "Stack")
        key = kms.Key(stack, "Key")
        _policy(
            stack,
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[key.key_arn],
                conditions={
                    "StringEquals": {"kms:ViaServices": "logs.us-east-1.amazonaws.com", "aws:SourceAccount": "1"},
                    "StringLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:*"},
                },
            ),
        )

    assert list(findings(build, tmp_path)) == [f"{RULE}[UnknownConditionKey::kms:ViaServices]"]


def test_resource_policies_are_checked_too(tmp_path):
    """A bucket policy (resource-based) with a Deny whose action does not exist protects nothing."""

    def build(stage):
        stack = Stack(stage, "Stack")
        bucket = s3.Bucket(stack, "Bucket")
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:DeleteObjects"],
                resources=[bucket.arn_for_objects("*")],
            )
        )

    assert findings(build, tmp_path) == {
        f"{RULE}[UnknownAction::s3:DeleteObjects]": ["check/Stack/Bucket/Policy/Resource"]
    }


def test_cdk_grants_and_default_key_policies_pass(tmp_path):
    """CDK's grants combine bucket and object actions over bucket and object ARNs (`s3:GetObject*`,
    `s3:List*`): a wildcard entry passes when any action it names applies."""

    def build(stage):
        stack = Stack(stage, "Stack")
        key = kms.Key(stack, "Key")
        bucket = s3.Bucket(stack, "Bucket", encryption_key=key, enforce_ssl=True)
        group = logs.LogGroup(stack, "Group", encryption_key=key)
        role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        bucket.grant_read_write(role)
        group.grant_write(role)
        key.grant_encrypt_decrypt(role)

    assert findings(build, tmp_path) == {}
