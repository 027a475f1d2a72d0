"""Kit-SageMakerModelIsolated: every SageMaker model has network isolation and a VPC config."""

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from governance.kit_rule import RuleResult, cfn_properties, findings_or_compliant
from governance.policy import GovernancePolicy


class SageMakerModelIsolated:
    rule_id = "SageMakerModelIsolated"
    resource_types = ("AWS::SageMaker::Model",)  # check() is NOT_APPLICABLE to any other type
    info = "The SageMaker model runs without network isolation or outside the environment's VPC."
    explanation = (
        "A model container is third-party code holding prompts and outputs: network isolation "
        "stops it from making any outbound call, and a VPC config keeps the traffic SageMaker "
        "makes for it (S3 weights, ECR) on the environment's private endpoints. No built-in "
        "pack checks either."
    )

    def check(self, node: CfnResource, policy: GovernancePolicy) -> RuleResult:
        if node.cfn_resource_type != "AWS::SageMaker::Model":
            return NagRuleCompliance.NOT_APPLICABLE
        properties = cfn_properties(node)
        findings = []
        if properties.get("EnableNetworkIsolation") is not True:
            findings.append("NetworkIsolationOff")
        vpc = properties.get("VpcConfig") or {}
        if not vpc.get("Subnets") or not vpc.get("SecurityGroupIds"):
            findings.append("NoVpcConfig")
        return findings_or_compliant(findings)
