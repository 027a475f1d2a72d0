"""Kit-SageMakerEndpointConfigEncrypted: storage KMS key (where SageMaker allows one) and KMS-encrypted data capture."""

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from governance.kit_rule import RuleResult, cfn_properties, findings_or_compliant
from governance.policy import GovernancePolicy
from kit_config.instance_catalogue import INSTANCE_CATALOGUE


class SageMakerEndpointConfigEncrypted:
    rule_id = "SageMakerEndpointConfigEncrypted"
    resource_types = ("AWS::SageMaker::EndpointConfig",)  # check() is NOT_APPLICABLE to any other type
    info = "The endpoint config lacks a KMS key for its storage volumes, or does not capture data encrypted with KMS."
    explanation = (
        "Inference volumes and captured payloads hold prompts and completions. EBS-backed instance "
        "types must use a customer-managed key (types with NVMe instance storage are hardware-"
        "encrypted, and SageMaker rejects a key for them); data capture must be on, with a KMS key, "
        "so every request and response can be audited without leaving them readable at rest."
    )

    def check(self, node: CfnResource, policy: GovernancePolicy) -> RuleResult:
        if node.cfn_resource_type != "AWS::SageMaker::EndpointConfig":
            return NagRuleCompliance.NOT_APPLICABLE
        properties = cfn_properties(node)
        findings = []
        instance_types = [variant.get("InstanceType") for variant in properties.get("ProductionVariants") or []]
        needs_key = any(
            not (INSTANCE_CATALOGUE.get(t) and INSTANCE_CATALOGUE[t].local_nvme_storage) for t in instance_types
        )
        if needs_key and not properties.get("KmsKeyId"):
            findings.append("NoStorageKmsKey")
        capture = properties.get("DataCaptureConfig") or {}
        if not capture or capture.get("EnableCapture") is False:
            findings.append("NoDataCapture")
        elif not capture.get("KmsKeyId"):
            findings.append("DataCaptureNotKmsEncrypted")
        return findings_or_compliant(findings)
