"""Kit-S3BucketBaseline: KMS-encrypted, TLS-only, versioned, all public access blocked."""

from aws_cdk import CfnResource, Stack
from aws_cdk import aws_s3 as s3
from cdk_nag import NagRuleCompliance

from governance.kit_rule import RuleResult, cfn_properties, findings_or_compliant
from governance.policy import GovernancePolicy

KMS_ALGORITHMS = {"aws:kms", "aws:kms:dsse"}
PUBLIC_ACCESS_FLAGS = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")


class S3BucketBaseline:
    rule_id = "S3BucketBaseline"
    resource_types = ("AWS::S3::Bucket",)  # check() is NOT_APPLICABLE to any other type
    info = "The S3 bucket does not meet the kit's bucket baseline."
    explanation = (
        "Every bucket holds model artifacts, captured inference data or agent sessions: it must "
        "be encrypted with a customer-managed KMS key, refuse plain-HTTP requests, keep object "
        "versions (recovery from overwrite or deletion) and block all public access."
    )

    def check(self, node: CfnResource, policy: GovernancePolicy) -> RuleResult:
        if node.cfn_resource_type != "AWS::S3::Bucket":
            return NagRuleCompliance.NOT_APPLICABLE
        properties = cfn_properties(node)
        findings = []
        rules = (properties.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration") or []
        algorithms = {(rule.get("ServerSideEncryptionByDefault") or {}).get("SSEAlgorithm") for rule in rules}
        if not algorithms or not algorithms <= KMS_ALGORITHMS:
            findings.append("NotKmsEncrypted")
        if (properties.get("VersioningConfiguration") or {}).get("Status") != "Enabled":
            findings.append("NotVersioned")
        block = properties.get("PublicAccessBlockConfiguration") or {}
        if not all(block.get(flag) is True for flag in PUBLIC_ACCESS_FLAGS):
            findings.append("PublicAccessNotBlocked")
        if not _denies_insecure_transport(node):
            findings.append("TlsNotEnforced")
        return findings_or_compliant(findings)


def _denies_insecure_transport(bucket: CfnResource) -> bool:
    """True when a bucket policy in the same stack denies requests without aws:SecureTransport."""
    stack = Stack.of(bucket)
    bucket_ref = stack.resolve(bucket.ref)
    for construct in stack.node.find_all():
        if not isinstance(construct, s3.CfnBucketPolicy):
            continue
        if stack.resolve(construct.bucket) != bucket_ref:
            continue
        document = stack.resolve(construct.policy_document) or {}
        for statement in document.get("Statement", []):
            condition = (statement.get("Condition") or {}).get("Bool") or {}
            if statement.get("Effect") == "Deny" and str(condition.get("aws:SecureTransport")).lower() == "false":
                return True
    return False
