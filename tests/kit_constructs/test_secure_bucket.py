"""SecureBucket meets every pack by construction; its grants are prefix-scoped."""

from __future__ import annotations

import json

import pytest
from aws_cdk import App, Environment, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from kit_constructs.secure_bucket import AccessLogBucket, AccessLogBucketProps, SecureBucket, SecureBucketProps
from stacks.kit_app import cdk_json_context
from tests.helpers import gate_findings, only, resources

pytestmark = pytest.mark.synth


def build(stack: Stack) -> SecureBucket:
    key = kms.Key(stack, "Key", enable_key_rotation=True, removal_policy=RemovalPolicy.DESTROY)
    logs = AccessLogBucket(
        stack, "AccessLogs", AccessLogBucketProps(retention_days=365, removal_policy=RemovalPolicy.DESTROY)
    )
    return SecureBucket(
        stack,
        "Data",
        SecureBucketProps(
            key=key, access_logs=logs, removal_policy=RemovalPolicy.DESTROY, purpose="data", expiration_days=90
        ),
    )


def test_secure_bucket_and_access_log_bucket_pass_the_gate(tmp_path):
    assert gate_findings(build, tmp_path=tmp_path) == {}


def test_secure_bucket_properties():
    stack = Stack(App(context=cdk_json_context()), "S", env=Environment(account="123456789012", region="us-east-1"))
    bucket = build(stack)
    role = iam.Role(stack, "Reader", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    bucket.grant_read(role, "models/*")
    template = Template.from_stack(stack).to_json()
    data = template["Resources"][next(k for k in resources(template, "AWS::S3::Bucket") if k.startswith("Data"))][
        "Properties"
    ]
    [rule] = data["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms" and rule["BucketKeyEnabled"] is True
    assert data["VersioningConfiguration"] == {"Status": "Enabled"}
    assert data["LoggingConfiguration"]["LogFilePrefix"] == "data/"
    assert data["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 90
    statements = only(resources(template, "AWS::IAM::Policy"))["Properties"]["PolicyDocument"]["Statement"]
    by_action = {json.dumps(s["Action"]): s for s in statements}
    # Explicit actions, no CDK bucket-grant wildcards (s3:GetObject*, s3:List*, kms:ReEncrypt*...).
    assert set(by_action) == {'"s3:GetObject"', '"s3:ListBucket"', '"kms:Decrypt"'}
    assert json.dumps(by_action['"s3:GetObject"']["Resource"]).endswith('/models/*"]]}')
    assert by_action['"s3:ListBucket"']["Condition"] == {"StringLike": {"s3:prefix": ["models/*"]}}
    assert "Fn::GetAtt" in by_action['"kms:Decrypt"']["Resource"]
