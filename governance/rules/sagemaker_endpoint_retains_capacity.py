"""Kit-SageMakerEndpointRetainsCapacity: an update keeps the autoscaled capacity it finds.

Without `RetainAllVariantProperties: true`, every EndpointConfig change (a new image, an
environment variable, a data-capture setting) resets each variant to its `InitialInstanceCount`:
a prod endpoint scaled out to 6 drops to 2 mid-rollout. `DesiredInstanceCount` must not be listed
in `ExcludeRetainedVariantProperties` ("Update endpoints that use auto scaling",
https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html; UpdateEndpoint,
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateEndpoint.html).
"""

from aws_cdk import CfnResource, Stage
from cdk_nag import NagRuleCompliance

from governance.kit_rule import RuleResult, cfn_properties, findings_or_compliant
from governance.policy import GovernancePolicy
from governance.rules.sagemaker_variant_autoscaled import scaled_variants


class SageMakerEndpointRetainsCapacity:
    rule_id = "SageMakerEndpointRetainsCapacity"
    resource_types = ("AWS::SageMaker::Endpoint",)  # check() is NOT_APPLICABLE to any other type
    info = "An endpoint with autoscaled variants does not retain their instance count on update."
    explanation = (
        "Set RetainAllVariantProperties: true (and keep DesiredInstanceCount out of ExcludeRetainedVariantProperties), "
        "or every endpoint update resets autoscaled capacity to InitialInstanceCount."
    )

    def check(self, node: CfnResource, policy: GovernancePolicy) -> RuleResult:
        if node.cfn_resource_type != "AWS::SageMaker::Endpoint":
            return NagRuleCompliance.NOT_APPLICABLE
        properties = cfn_properties(node)
        name = properties.get("EndpointName")
        if not isinstance(name, str) or not scaled_variants(Stage.of(node), name):
            return NagRuleCompliance.NOT_APPLICABLE
        findings = []
        if properties.get("RetainAllVariantProperties") is not True:
            findings.append("CapacityResetOnUpdate")
        excluded = {
            item.get("VariantPropertyType") for item in properties.get("ExcludeRetainedVariantProperties") or []
        }
        if "DesiredInstanceCount" in excluded:
            findings.append("DesiredInstanceCountExcluded")
        # "DataCaptureConfig: (Not currently supported.)" —
        # https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_VariantProperty.html
        findings += [
            f"UnsupportedExclusion::{kind}" for kind in sorted(excluded - {"DesiredInstanceCount", "DesiredWeight"})
        ]
        return findings_or_compliant(findings)
