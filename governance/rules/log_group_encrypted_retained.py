"""Kit-LogGroupEncryptedRetained: log groups use a KMS key and keep logs at least the env's minimum."""

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from governance.kit_rule import RuleResult, cfn_properties, findings_or_compliant
from governance.policy import GovernancePolicy


class LogGroupEncryptedRetained:
    rule_id = "LogGroupEncryptedRetained"
    resource_types = ("AWS::Logs::LogGroup",)  # check() is NOT_APPLICABLE to any other type
    info = "The CloudWatch log group is not KMS-encrypted or keeps logs for less than the environment's minimum."
    explanation = (
        "Logs can carry prompts, identifiers and request data: they must be encrypted with a "
        "customer-managed key and kept for the retention the environment's policy requires "
        "(no retention set means logs never expire, which satisfies the minimum)."
    )

    def check(self, node: CfnResource, policy: GovernancePolicy) -> RuleResult:
        if node.cfn_resource_type != "AWS::Logs::LogGroup":
            return NagRuleCompliance.NOT_APPLICABLE
        properties = cfn_properties(node)
        findings = []
        if not properties.get("KmsKeyId"):
            findings.append("NotKmsEncrypted")
        retention = properties.get("RetentionInDays")
        if isinstance(retention, (int, float)) and retention < policy.min_log_retention_days:
            findings.append(f"RetentionBelow{policy.min_log_retention_days}Days")
        elif retention is not None and not isinstance(retention, (int, float)):
            findings.append("RetentionNotLiteral")
        return findings_or_compliant(findings)
