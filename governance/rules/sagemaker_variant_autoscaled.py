"""Kit-SageMakerVariantAutoscaled: every variant of every endpoint has an Application Auto Scaling target."""

from aws_cdk import CfnResource, Stack, Stage
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_sagemaker as sagemaker
from cdk_nag import NagRuleCompliance

from governance.kit_rule import RuleResult, cfn_properties, findings_or_compliant
from governance.policy import GovernancePolicy

DIMENSION = "sagemaker:variant:DesiredInstanceCount"


class SageMakerVariantAutoscaled:
    rule_id = "SageMakerVariantAutoscaled"
    resource_types = ("AWS::SageMaker::Endpoint",)  # check() is NOT_APPLICABLE to any other type
    info = "An endpoint variant has no scalable target: it cannot scale with load or recover capacity."
    explanation = (
        "A GPU endpoint with fixed capacity either queues requests until they time out or pays for "
        "idle instances; every variant needs a scalable target with a scaling policy."
    )

    def check(self, node: CfnResource, policy: GovernancePolicy) -> RuleResult:
        if node.cfn_resource_type != "AWS::SageMaker::Endpoint":
            return NagRuleCompliance.NOT_APPLICABLE
        stack = Stack.of(node)
        properties = cfn_properties(node)
        name = properties.get("EndpointName")
        if not isinstance(name, str):
            return ["EndpointNameNotLiteral"]  # scaling targets address the endpoint by name
        variants = _variant_names(stack, properties.get("EndpointConfigName"))
        scaled = scaled_variants(Stage.of(node), name)
        return findings_or_compliant([f"NoScalableTarget::{variant}" for variant in variants if variant not in scaled])


def _variant_names(stack: Stack, config_ref) -> list[str]:
    logical_id = (config_ref or {}).get("Fn::GetAtt", [None])[0] if isinstance(config_ref, dict) else None
    for construct in stack.node.find_all():
        if isinstance(construct, sagemaker.CfnEndpointConfig) and stack.get_logical_id(construct) == logical_id:
            return [v["VariantName"] for v in cfn_properties(construct).get("ProductionVariants") or []]
    return []


def scalable_targets(scope, endpoint_name: str) -> dict[str, appscaling.CfnScalableTarget]:
    """The endpoint's variants registered with Application Auto Scaling in `scope`, by variant name."""
    prefix = f"endpoint/{endpoint_name}/variant/"
    targets = {}
    for construct in scope.node.find_all():
        if isinstance(construct, appscaling.CfnScalableTarget):
            resource_id = Stack.of(construct).resolve(construct.resource_id)
            if (
                construct.scalable_dimension == DIMENSION
                and isinstance(resource_id, str)
                and resource_id.startswith(prefix)
            ):
                targets[resource_id.removeprefix(prefix)] = construct
    return targets


def scaled_variants(scope, endpoint_name: str) -> set[str]:
    return set(scalable_targets(scope, endpoint_name))
