"""Kit-SageMakerVariantAutoscaled: every variant of every endpoint has an Application Auto Scaling target.

A variant that serves its own model scales its instances (`endpoint/<name>/variant/<variant>`,
DesiredInstanceCount); a variant that hosts inference components (no ModelName) scales through its
components' copies (`inference-component/<name>`, DesiredCopyCount), which managed instance scaling
turns into instances ("Autoscaling for inference components", SageMaker developer guide).
"""

from aws_cdk import CfnResource, Stack, Stage
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_sagemaker as sagemaker
from cdk_nag import NagRuleCompliance

from governance.kit_rule import RuleResult, cfn_properties, findings_or_compliant
from governance.policy import GovernancePolicy

DIMENSION = "sagemaker:variant:DesiredInstanceCount"
COPY_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"


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
        variants = _variants(stack, properties.get("EndpointConfigName"))
        stage = Stage.of(node)
        scaled = scaled_variants(stage, name)
        scaled_copies = scaled_components(stage)
        components = _components_by_variant(stack, node, name)
        findings = []
        for variant in variants:
            if variant.get("ModelName") is not None:
                if variant["VariantName"] not in scaled:
                    findings.append(f"NoScalableTarget::{variant['VariantName']}")
                continue
            hosted = components.get(variant["VariantName"], [])
            if not hosted:
                findings.append(f"NoInferenceComponent::{variant['VariantName']}")
            findings += [
                f"NoScalableTarget::{variant['VariantName']}::{ic}" for ic in hosted if ic not in scaled_copies
            ]
        return findings_or_compliant(findings)


def _variants(stack: Stack, config_ref) -> list[dict]:
    logical_id = (config_ref or {}).get("Fn::GetAtt", [None])[0] if isinstance(config_ref, dict) else None
    for construct in stack.node.find_all():
        if isinstance(construct, sagemaker.CfnEndpointConfig) and stack.get_logical_id(construct) == logical_id:
            return list(cfn_properties(construct).get("ProductionVariants") or [])
    return []


def _components_by_variant(stack: Stack, endpoint: CfnResource, endpoint_name: str) -> dict[str, list[str]]:
    """The inference components placed on `endpoint` (by literal name or GetAtt), by variant."""
    refs = (endpoint_name, {"Fn::GetAtt": [stack.get_logical_id(endpoint), "EndpointName"]})
    found: dict[str, list[str]] = {}
    for construct in stack.node.find_all():
        if isinstance(construct, sagemaker.CfnInferenceComponent):
            properties = cfn_properties(construct)
            if properties.get("EndpointName") in refs:
                found.setdefault(properties.get("VariantName"), []).append(properties.get("InferenceComponentName"))
    return found


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


def scaled_components(scope) -> set[str]:
    """Names of the inference components registered with Application Auto Scaling in `scope`."""
    prefix = "inference-component/"
    names = set()
    for construct in scope.node.find_all():
        if isinstance(construct, appscaling.CfnScalableTarget) and construct.scalable_dimension == COPY_DIMENSION:
            resource_id = Stack.of(construct).resolve(construct.resource_id)
            if isinstance(resource_id, str) and resource_id.startswith(prefix):
                names.add(resource_id.removeprefix(prefix))
    return names
