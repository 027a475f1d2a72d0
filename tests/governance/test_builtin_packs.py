"""The built-in packs are live in the gate, and acknowledgments work at finding level."""

from __future__ import annotations

import pytest
from aws_cdk import Acknowledgment, RemovalPolicy, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns

from tests.helpers import gate_findings

pytestmark = pytest.mark.synth


def test_each_builtin_pack_rejects_an_unencrypted_log_group(tmp_path):
    def build(stack):
        logs.LogGroup(stack, "Plain", retention=logs.RetentionDays.ONE_YEAR, removal_policy=RemovalPolicy.DESTROY)

    findings = gate_findings(build, tmp_path=tmp_path)
    assert findings["HIPAA.Security-CloudWatchLogGroupEncrypted"] == ["gate/UnderTest/Plain/Resource"]
    assert findings["NIST.800.53.R5-CloudWatchLogGroupEncrypted"] == ["gate/UnderTest/Plain/Resource"]


def test_aws_solutions_rejects_a_topic_without_tls_enforcement(tmp_path):
    findings = gate_findings(lambda stack: sns.Topic(stack, "Topic"), tmp_path=tmp_path)
    assert findings["AwsSolutions-SNS3"] == ["gate/UnderTest/Topic/Resource"]


def wildcard_role(stack) -> iam.Role:
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_managed_policy(
        iam.ManagedPolicy(
            stack,
            "Policy",
            statements=[
                iam.PolicyStatement(actions=["s3:*"], resources=["*"]),
            ],
        )
    )
    return role


def test_acknowledging_one_finding_leaves_the_others_failing(tmp_path):
    def build(stack):
        wildcard_role(stack)
        Validations.of(stack.node.find_child("Policy")).acknowledge(
            Acknowledgment(id="AwsSolutions-IAM5[Action::s3:*]", reason="test: whole-service access is the point here")
        )

    findings = gate_findings(build, tmp_path=tmp_path)
    assert "AwsSolutions-IAM5[Action::s3:*]" not in findings
    assert findings["AwsSolutions-IAM5[Resource::*]"] == ["gate/UnderTest/Policy/Resource"]


def test_acknowledging_every_finding_passes_the_gate(tmp_path):
    ids = [
        "AwsSolutions-IAM5[Action::s3:*]",
        "AwsSolutions-IAM5[Resource::*]",
        "HIPAA.Security-IAMPolicyNoStatementsWithFullAccess",
        "NIST.800.53.R5-IAMPolicyNoStatementsWithFullAccess",
    ]

    def build(stack):
        wildcard_role(stack)
        for rule_id in ids:
            Validations.of(stack.node.find_child("Policy")).acknowledge(Acknowledgment(id=rule_id, reason="test"))

    assert gate_findings(build, tmp_path=tmp_path) == {}
