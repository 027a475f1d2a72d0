"""Kit-AutoscaledCapacityRetained: a deploy never resets the capacity that autoscaling owns.

Once a resource is a scalable target, Application Auto Scaling owns its capacity. Any capacity the
template states is re-applied by CloudFormation on each update of that resource, so every release
would drop a scaled-out fleet back to the template's number mid-rollout. Each kind of scalable target
has one property that does this; `CAPACITY_OWNERS` names it, one small object per scalable dimension:

- ECS services: `DesiredCount`. Leave it unset and an update keeps the current count (aws-cdk-lib
  `aws_ecs.BaseServiceOptions.desiredCount`: "when updating the service, default uses the current task
  number"; AWS::ECS::Service DesiredCount: a new service starts with 1, and registering the scalable target
  moves it into MinCapacity..MaxCapacity, RegisterScalableTarget API reference).
- SageMaker variants: without `RetainAllVariantProperties: true` every EndpointConfig change resets each
  variant to `InitialInstanceCount`, and `DesiredInstanceCount` must not be listed in
  `ExcludeRetainedVariantProperties` ("Update endpoints that use auto scaling",
  https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html; UpdateEndpoint,
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateEndpoint.html). DataCaptureConfig
  cannot be excluded at all: "(Not currently supported.)" (API_VariantProperty).

A scalable target whose dimension has no owner here is itself a finding (`UnmodelledDimension`): a new kind
of scalable resource must say which of its properties an update would reset before it can deploy.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from aws_cdk import CfnResource, Stack, Stage
from aws_cdk import aws_applicationautoscaling as appscaling
from cdk_nag import NagRuleCompliance

from governance.kit_rule import RuleResult, cfn_properties, findings_or_compliant, memoized
from governance.policy import GovernancePolicy


class CapacityOwner(Protocol):
    dimension: str  # the ScalableDimension it owns
    resource_type: str  # the CloudFormation type that holds the capacity

    def is_target_of(self, resource: CfnResource, resource_id: Any) -> bool:
        """Whether a scalable target with this (resolved) ResourceId scales `resource`."""

    def reset_findings(self, properties: dict) -> list[str]:
        """What in `resource`'s properties an update would reset the owned capacity with."""


@dataclass(frozen=True)
class EcsServiceDesiredCount:
    dimension: str = "ecs:service:DesiredCount"
    resource_type: str = "AWS::ECS::Service"

    def is_target_of(self, resource: CfnResource, resource_id: Any) -> bool:
        # service/<cluster>/<service name>; CDK writes the name as {"Fn::GetAtt": [<service>, "Name"]}.
        logical_id = Stack.of(resource).get_logical_id(resource)
        if isinstance(resource_id, str):
            return resource_id.rsplit("/", 1)[-1] == cfn_properties(resource).get("ServiceName")
        return any(value == {"Fn::GetAtt": [logical_id, "Name"]} for value in _values(resource_id))

    def reset_findings(self, properties: dict) -> list[str]:
        return ["DesiredCountResetOnUpdate"] if "DesiredCount" in properties else []


@dataclass(frozen=True)
class SageMakerVariantInstanceCount:
    dimension: str = "sagemaker:variant:DesiredInstanceCount"
    resource_type: str = "AWS::SageMaker::Endpoint"

    def is_target_of(self, resource: CfnResource, resource_id: Any) -> bool:
        name = cfn_properties(resource).get("EndpointName")
        return isinstance(resource_id, str) and isinstance(name, str) and resource_id.startswith(f"endpoint/{name}/")

    def reset_findings(self, properties: dict) -> list[str]:
        findings = []
        if properties.get("RetainAllVariantProperties") is not True:
            findings.append("CapacityResetOnUpdate")
        excluded = {
            item.get("VariantPropertyType") for item in properties.get("ExcludeRetainedVariantProperties") or []
        }
        if "DesiredInstanceCount" in excluded:
            findings.append("DesiredInstanceCountExcluded")
        findings += [
            f"UnsupportedExclusion::{kind}" for kind in sorted(excluded - {"DesiredInstanceCount", "DesiredWeight"})
        ]
        return findings


@dataclass(frozen=True)
class SageMakerInferenceComponentCopyCount:
    """CreateInferenceComponent needs RuntimeConfig.CopyCount (min 1 at creation, measured; the API says min 0),
    and CloudFormation lists it write-only (AWS::SageMaker::InferenceComponent schema): it cannot see what
    autoscaling did, and an update of the component sends the template's count again. There is no retain
    switch as for variants, so a component that states a count is a finding its construct must acknowledge
    with how the count recovers."""

    dimension: str = "sagemaker:inference-component:DesiredCopyCount"
    resource_type: str = "AWS::SageMaker::InferenceComponent"

    def is_target_of(self, resource: CfnResource, resource_id: Any) -> bool:
        name = cfn_properties(resource).get("InferenceComponentName")
        return isinstance(resource_id, str) and isinstance(name, str) and resource_id == f"inference-component/{name}"

    def reset_findings(self, properties: dict) -> list[str]:
        return (
            ["CopyCountResetOnUpdate"] if (properties.get("RuntimeConfig") or {}).get("CopyCount") is not None else []
        )


CAPACITY_OWNERS: tuple[CapacityOwner, ...] = (
    EcsServiceDesiredCount(),
    SageMakerVariantInstanceCount(),
    SageMakerInferenceComponentCopyCount(),
)
_OWNERS_BY_TYPE = {owner.resource_type: owner for owner in CAPACITY_OWNERS}
_MODELLED_DIMENSIONS = {owner.dimension for owner in CAPACITY_OWNERS}


class AutoscaledCapacityRetained:
    rule_id = "AutoscaledCapacityRetained"
    resource_types = ("AWS::ApplicationAutoScaling::ScalableTarget", *_OWNERS_BY_TYPE)
    info = "A deploy would reset capacity that Application Auto Scaling owns (or the kind of target is not modelled)."
    explanation = (
        "Leave the capacity of a scalable resource out of what an update re-applies (ECS: no DesiredCount; "
        "SageMaker: RetainAllVariantProperties), or every release drops a scaled-out fleet to the template's number."
    )

    def check(self, node: CfnResource, policy: GovernancePolicy) -> RuleResult:
        if node.cfn_resource_type == "AWS::ApplicationAutoScaling::ScalableTarget":
            dimension = cfn_properties(node).get("ScalableDimension")
            if dimension in _MODELLED_DIMENSIONS:
                return NagRuleCompliance.COMPLIANT
            return [f"UnmodelledDimension::{dimension}"]
        owner = _OWNERS_BY_TYPE.get(node.cfn_resource_type)
        if owner is None or not any(owner.is_target_of(node, resource_id) for resource_id in _target_ids(node, owner)):
            return NagRuleCompliance.NOT_APPLICABLE
        return findings_or_compliant(owner.reset_findings(cfn_properties(node)))


def _target_ids(node: CfnResource, owner: CapacityOwner) -> list[Any]:
    """The resolved ResourceIds of the stage's scalable targets of `owner`'s dimension."""
    stage = Stage.of(node)
    return memoized(f"scalable_target_ids::{owner.dimension}", stage, lambda: list(_resource_ids(stage, owner)))


def _resource_ids(stage: Stage, owner: CapacityOwner) -> Iterator[Any]:
    for construct in stage.node.find_all():
        if isinstance(construct, appscaling.CfnScalableTarget) and construct.scalable_dimension == owner.dimension:
            yield Stack.of(construct).resolve(construct.resource_id)


def _values(value: Any) -> Iterator[Any]:
    """`value` and every value nested in it (Fn::Join parts)."""
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from _values(item)
    elif isinstance(value, list):
        for item in value:
            yield from _values(item)
