"""Kit-SageMakerRolloutStepFitsCapacity: canary and linear steps are a valid share of every variant's fleet.

TrafficRoutingConfig: `CanarySize` must be at most 50% of the variant's instance count and
`LinearStepSize` 10-50% of it (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_TrafficRoutingConfig.html,
https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green.html). A fleet of one instance
has no step smaller than the whole fleet, so the update fails; the smallest fleet an update can meet is the
scalable target's MinCapacity (or InitialInstanceCount when the variant is not autoscaled).
"""

from __future__ import annotations

import math

from aws_cdk import CfnResource, Stack, Stage
from cdk_nag import NagRuleCompliance

from governance.kit_rule import RuleResult, cfn_properties, findings_or_compliant
from governance.policy import GovernancePolicy
from governance.rules.sagemaker_variant_autoscaled import scalable_targets
from governance.template_graph import resource

_LIMITS = {"CANARY": ("CanarySize", 0.0, 0.5), "LINEAR": ("LinearStepSize", 0.1, 0.5)}


class SageMakerRolloutStepFitsCapacity:
    rule_id = "SageMakerRolloutStepFitsCapacity"
    resource_types = ("AWS::SageMaker::Endpoint",)  # check() is NOT_APPLICABLE to any other type
    info = "A canary or linear rollout step is not a valid share (canary <= 50%, linear 10-50%) of a variant's smallest fleet."
    explanation = (
        "SageMaker rejects a blue/green update whose step is too large or too small for the variant's instance count; "
        "one-instance variants can only use ALL_AT_ONCE traffic shifting."
    )

    def check(self, node: CfnResource, policy: GovernancePolicy) -> RuleResult:
        if node.cfn_resource_type != "AWS::SageMaker::Endpoint":
            return NagRuleCompliance.NOT_APPLICABLE
        stack = Stack.of(node)
        properties = cfn_properties(node)
        routing = ((properties.get("DeploymentConfig") or {}).get("BlueGreenUpdatePolicy") or {}).get(
            "TrafficRoutingConfiguration"
        ) or {}
        kind = routing.get("Type")
        if kind not in _LIMITS:
            return NagRuleCompliance.NOT_APPLICABLE
        field, low, high = _LIMITS[kind]
        size = routing.get(field) or {}
        config = resource(stack, properties.get("EndpointConfigName"))
        if config is None:
            return ["EndpointConfigNotInStack"]
        minimums = _minimum_counts(Stage.of(node), properties.get("EndpointName"), cfn_properties(config))
        findings = []
        for variant, count in sorted(minimums.items()):
            if size.get("Type") == "INSTANCE_COUNT":
                instances = size.get("Value", 0)
            else:  # CAPACITY_PERCENT; SageMaker cannot shift less than one instance
                instances = max(1, math.ceil(count * (size.get("Value", 0) / 100)))
            if not low * count <= instances <= high * count:
                findings.append(f"{field}NotFit::{variant}::{count}Instances")
        return findings_or_compliant(findings)


def _minimum_counts(stage: Stage, endpoint_name, endpoint_config: dict) -> dict[str, int]:
    counts = {
        v["VariantName"]: v.get("InitialInstanceCount", 1) for v in endpoint_config.get("ProductionVariants") or []
    }
    if isinstance(endpoint_name, str):
        for variant, target in scalable_targets(stage, endpoint_name).items():
            if variant in counts:
                counts[variant] = target.min_capacity
    return counts
