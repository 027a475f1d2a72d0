"""Kit-KmsKeySpecUsage: a KMS key's KeySpec, KeyUsage and rotation are a combination KMS creates.

CreateKey accepts one KeyUsage per kind of key spec: ENCRYPT_DECRYPT (the default) for symmetric
encryption keys, GENERATE_VERIFY_MAC for HMAC keys, and so on; KeyUsage is required for every
spec but SYMMETRIC_DEFAULT (CreateKey KeyUsage,
https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html). Automatic rotation "is
supported only on symmetric encryption KMS keys" (EnableKeyRotation,
https://docs.aws.amazon.com/kms/latest/APIReference/API_EnableKeyRotation.html). Either mistake fails
the create; and since CloudFormation refuses any update that changes KeySpec or KeyUsage
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-kms-key.html),
a key cannot be fixed in place afterwards. The L2 `kms.Key` checks some of this; L1 keys and
library users' keys reach the gate unchecked.
"""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from governance.kit_rule import RuleResult, cfn_properties, findings_or_compliant
from governance.policy import GovernancePolicy

# CreateKey's KeyUsage list, by key spec prefix (specs it does not name are not judged).
_USAGES = {
    "SYMMETRIC_DEFAULT": {"ENCRYPT_DECRYPT"},
    "HMAC_": {"GENERATE_VERIFY_MAC"},
    "RSA_": {"ENCRYPT_DECRYPT", "SIGN_VERIFY"},
    "ECC_NIST_": {"SIGN_VERIFY", "KEY_AGREEMENT"},
    "ECC_SECG_P256K1": {"SIGN_VERIFY"},
    "ML_DSA_": {"SIGN_VERIFY"},
    "SM2": {"ENCRYPT_DECRYPT", "SIGN_VERIFY", "KEY_AGREEMENT"},
}


class KmsKeySpecUsage:
    rule_id = "KmsKeySpecUsage"
    resource_types = ("AWS::KMS::Key",)  # check() is NOT_APPLICABLE to any other type
    info = "The KMS key's KeyUsage does not fit its KeySpec, or it enables rotation on a key that cannot rotate."
    explanation = (
        "Pair the key spec with a usage CreateKey allows (HMAC_* with GENERATE_VERIFY_MAC, SYMMETRIC_DEFAULT with "
        "ENCRYPT_DECRYPT, ...), and enable automatic rotation only on SYMMETRIC_DEFAULT keys."
    )

    def check(self, node: CfnResource, policy: GovernancePolicy) -> RuleResult:
        if node.cfn_resource_type != "AWS::KMS::Key":
            return NagRuleCompliance.NOT_APPLICABLE
        properties = cfn_properties(node)
        spec = properties.get("KeySpec", "SYMMETRIC_DEFAULT")
        usage = properties.get("KeyUsage", "ENCRYPT_DECRYPT")
        if not isinstance(spec, str) or not isinstance(usage, str):
            return NagRuleCompliance.NOT_APPLICABLE  # a parameter or condition: decided at deploy
        findings = []
        allowed = next((usages for prefix, usages in _USAGES.items() if spec.startswith(prefix)), None)
        if allowed is not None and usage not in allowed:
            findings.append(f"UsageNotValid::{spec}::{usage}")
        if spec != "SYMMETRIC_DEFAULT" and (
            properties.get("EnableKeyRotation") is True or "RotationPeriodInDays" in properties
        ):
            findings.append(f"RotationNotSupported::{spec}")
        return findings_or_compliant(findings)
