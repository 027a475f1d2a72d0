"""Kit-MlflowArtifactStore: an MLflow server's or app's artifact store is a compliant bucket of this app."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnResource, Stack
from aws_cdk import aws_s3 as s3
from cdk_nag import NagRuleCompliance

from governance.kit_rule import RuleResult, cfn_properties, findings_or_compliant
from governance.policy import GovernancePolicy
from governance.rules.s3_bucket_baseline import S3BucketBaseline

MLFLOW_TYPES = ("AWS::SageMaker::MlflowTrackingServer", "AWS::SageMaker::MlflowApp")


class MlflowArtifactStore:
    rule_id = "MlflowArtifactStore"
    resource_types = MLFLOW_TYPES  # check() is NOT_APPLICABLE to any other type
    info = "The MLflow artifact store is not a bucket of this app that meets the kit's bucket baseline."
    explanation = (
        "SageMaker runs MLflow in a service-managed VPC with no KMS setting of its own: the artifact "
        "store (models, traces with prompts and outputs) is where the data rests, so it must be a "
        "bucket this app defines, in the same stack (so the gate can check it), and it must be "
        "KMS-encrypted, TLS-only, versioned and closed to the public (Kit-S3BucketBaseline)."
    )

    def check(self, node: CfnResource, policy: GovernancePolicy) -> RuleResult:
        if node.cfn_resource_type not in MLFLOW_TYPES:
            return NagRuleCompliance.NOT_APPLICABLE
        uri = cfn_properties(node).get("ArtifactStoreUri")
        bucket = _referenced_bucket(node, uri)
        if bucket is None:
            return ["NotABucketOfThisApp"]
        baseline = S3BucketBaseline().check(bucket, policy)
        if isinstance(baseline, list):
            return findings_or_compliant([f"ArtifactStore::{finding}" for finding in baseline])
        return NagRuleCompliance.COMPLIANT


def _referenced_bucket(node: CfnResource, uri: Any) -> s3.CfnBucket | None:
    """The `AWS::S3::Bucket` of the same stack whose name the URI is built from (`{"Ref": ...}`)."""
    refs = set(_refs(uri))
    if not refs:
        return None
    stack = Stack.of(node)
    for construct in stack.node.find_all():
        if isinstance(construct, s3.CfnBucket) and Stack.of(construct) is stack:
            if stack.resolve(construct.ref).get("Ref") in refs:
                return construct
    return None


def _refs(value: Any):
    if isinstance(value, dict):
        if set(value) == {"Ref"} and isinstance(value["Ref"], str):
            yield value["Ref"]
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)
