"""Each kit rule rejects a deliberately non-compliant construct at synth, and accepts a compliant one."""

from __future__ import annotations

import pytest
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns

from tests.helpers import gate_findings

pytestmark = pytest.mark.synth


def kit_findings(findings: dict[str, list[str]], rule: str) -> dict[str, list[str]]:
    return {rule_id: paths for rule_id, paths in findings.items() if rule_id.startswith(f"Kit-{rule}")}


def encrypted_topic(stack):
    key = kms.Key(stack, "TopicKey", enable_key_rotation=True, removal_policy=RemovalPolicy.DESTROY)
    sns.Topic(stack, "Topic", master_key=key, enforce_ssl=True)


def test_required_tags_rejects_an_untagged_resource(tmp_path):
    findings = gate_findings(encrypted_topic, tmp_path=tmp_path, tagged=False)
    assert kit_findings(findings, "RequiredTags")["Kit-RequiredTags[Missing::CostCenter]"] == [
        "gate/UnderTest/TopicKey/Resource",
        "gate/UnderTest/Topic/Resource",
    ]
    assert "Kit-RequiredTags[Missing::DataClassification]" in findings


def test_required_tags_accepts_a_tagged_resource(tmp_path):
    assert gate_findings(encrypted_topic, tmp_path=tmp_path) == {}


def test_log_group_rule_rejects_unencrypted_and_short_retention(tmp_path):
    def build(stack):
        logs.LogGroup(stack, "Plain", retention=logs.RetentionDays.ONE_WEEK, removal_policy=RemovalPolicy.DESTROY)

    findings = kit_findings(gate_findings(build, tmp_path=tmp_path, min_retention=30), "LogGroupEncryptedRetained")
    assert findings == {
        "Kit-LogGroupEncryptedRetained[NotKmsEncrypted]": ["gate/UnderTest/Plain/Resource"],
        "Kit-LogGroupEncryptedRetained[RetentionBelow30Days]": ["gate/UnderTest/Plain/Resource"],
    }


def test_log_group_rule_accepts_encrypted_group_with_enough_retention(tmp_path):
    def build(stack):
        key = kms.Key(stack, "Key", enable_key_rotation=True, removal_policy=RemovalPolicy.DESTROY)
        logs.LogGroup(
            stack,
            "Encrypted",
            encryption_key=key,
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )

    assert kit_findings(gate_findings(build, tmp_path=tmp_path, min_retention=30), "LogGroupEncryptedRetained") == {}


def test_open_security_group_rules_are_rejected_in_both_directions(tmp_path):
    def build(stack):
        vpc = ec2.Vpc.from_vpc_attributes(
            stack,
            "Vpc",
            vpc_id="vpc-0123456789abcdef0",
            availability_zones=["us-east-1a"],
            vpc_cidr_block="10.0.0.0/16",
        )
        group = ec2.SecurityGroup(stack, "Open", vpc=vpc, allow_all_outbound=True, allow_all_ipv6_outbound=True)
        group.add_ingress_rule(ec2.Peer.any_ipv6(), ec2.Port.tcp(443))

    findings = kit_findings(gate_findings(build, tmp_path=tmp_path), "NoOpenSecurityGroupRule")
    assert sorted(findings) == [
        "Kit-NoOpenSecurityGroupRule[Egress::0.0.0.0/0]",
        "Kit-NoOpenSecurityGroupRule[Egress::::/0]",
        "Kit-NoOpenSecurityGroupRule[Ingress::::/0]",
    ]


def test_open_security_group_rule_as_separate_resource_is_rejected(tmp_path):
    def build(stack):
        ec2.CfnSecurityGroupIngress(
            stack,
            "Rule",
            group_id="sg-0123456789abcdef0",
            ip_protocol="tcp",
            from_port=22,
            to_port=22,
            cidr_ip="0.0.0.0/0",
        )

    findings = kit_findings(gate_findings(build, tmp_path=tmp_path), "NoOpenSecurityGroupRule")
    assert findings == {"Kit-NoOpenSecurityGroupRule[Ingress::0.0.0.0/0]": ["gate/UnderTest/Rule"]}


def test_security_group_with_named_peers_is_accepted(tmp_path):
    def build(stack):
        vpc = ec2.Vpc.from_vpc_attributes(
            stack,
            "Vpc",
            vpc_id="vpc-0123456789abcdef0",
            availability_zones=["us-east-1a"],
            vpc_cidr_block="10.0.0.0/16",
        )
        group = ec2.SecurityGroup(stack, "Scoped", vpc=vpc, allow_all_outbound=False)
        group.add_ingress_rule(ec2.Peer.ipv4("10.0.0.0/16"), ec2.Port.tcp(443))

    assert kit_findings(gate_findings(build, tmp_path=tmp_path), "NoOpenSecurityGroupRule") == {}


def test_bucket_baseline_rejects_a_default_bucket(tmp_path):
    def build(stack):
        s3.Bucket(
            stack,
            "Default",
            removal_policy=RemovalPolicy.DESTROY,
            block_public_access=s3.BlockPublicAccess(
                block_public_acls=True,
                block_public_policy=False,
                ignore_public_acls=True,
                restrict_public_buckets=False,
            ),
        )

    findings = kit_findings(gate_findings(build, tmp_path=tmp_path), "S3BucketBaseline")
    assert sorted(findings) == [
        "Kit-S3BucketBaseline[NotKmsEncrypted]",
        "Kit-S3BucketBaseline[NotVersioned]",
        "Kit-S3BucketBaseline[PublicAccessNotBlocked]",
        "Kit-S3BucketBaseline[TlsNotEnforced]",
    ]


def test_bucket_baseline_accepts_a_compliant_bucket(tmp_path):
    def build(stack):
        key = kms.Key(stack, "Key", enable_key_rotation=True, removal_policy=RemovalPolicy.DESTROY)
        s3.Bucket(
            stack,
            "Compliant",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            versioned=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            removal_policy=RemovalPolicy.DESTROY,
            lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=Duration.days(30))],
        )

    findings = gate_findings(build, tmp_path=tmp_path)
    assert kit_findings(findings, "S3BucketBaseline") == {}
    assert "AwsSolutions-S1" in findings  # the built-in packs still see it (no access logs): the gate is live
