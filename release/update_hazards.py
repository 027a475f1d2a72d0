"""Endpoint updates that fight Application Auto Scaling, found by comparing two templates.

SageMaker refuses an UpdateEndpoint that changes the instance type of a production variant that
is a registered scalable target, or that removes such a variant ("Update endpoints that use auto
scaling": https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html). In a
CloudFormation update the endpoint is updated before the scalable target (the target depends on
the endpoint), so deregistering in the same change does not help: the update fails and the stack
rolls back after a long wait. Changing the model of an autoscaled variant is allowed (same page).

`find_hazards(baseline, new)` is pure: two CloudFormation templates (dicts) in, hazards out.
`release/diff.py` and `release/preflight.py` feed it the deployed (or git-baseline) template
and the freshly synthesized one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SOURCE = "https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html"
_SAGEMAKER_VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
_RESOURCE_ID = re.compile(r"^endpoint/(?P<endpoint>[^/]+)/variant/(?P<variant>[^/]+)$")
_ENDPOINT_REF = "\x00endpoint:{}\x00"   # placeholder for a reference to an endpoint resource


@dataclass(frozen=True)
class EndpointShape:
    """One AWS::SageMaker::Endpoint: its variants (name -> instance type) and which are autoscaled."""

    key: str                    # the EndpointName when literal, else "logical id <Id>"
    logical_id: str
    variants: dict[str, object] = field(default_factory=dict)   # InstanceType (str, or an intrinsic)
    registered: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Hazard:
    environment: str
    stack: str
    endpoint: str
    variant: str
    kind: str                  # "instance_type" | "removed"
    before: object
    after: object = None

    @property
    def message(self) -> str:
        where = f"{self.environment}/{self.stack}: endpoint {self.endpoint}, variant {self.variant!r}"
        config = f"config/{self.environment}.yaml"
        if self.kind == "instance_type":
            change = f"instance type {self.before} -> {self.after}"
            step2 = "change the instance type and set `registered: true` again, and deploy"
        else:
            change = "the variant is removed"
            step2 = "remove the variant, and deploy"
        return (
            f"{where}: {change} while the variant is a registered Application Auto Scaling target; "
            "SageMaker refuses such an UpdateEndpoint and CloudFormation rolls the stack back after a long wait. "
            f"Safe procedure: 1) set `autoscaling.registered: false` on variant {self.variant!r} in {config} and deploy "
            "(this deregisters the scalable target; capacity stays as is); "
            f"2) {step2}. Source: {SOURCE}"
        )


def _resources(template: dict, kind: str) -> dict[str, dict]:
    return {
        logical_id: resource.get("Properties", {}) or {}
        for logical_id, resource in (template.get("Resources") or {}).items()
        if isinstance(resource, dict) and resource.get("Type") == kind
    }


def referenced(value: object) -> str | None:
    """The logical id a {"Ref": X} or {"Fn::GetAtt": [X, ...]} points at."""
    if isinstance(value, dict) and len(value) == 1:
        if "Ref" in value and isinstance(value["Ref"], str):
            return value["Ref"]
        attribute = value.get("Fn::GetAtt")
        if isinstance(attribute, list) and attribute and isinstance(attribute[0], str):
            return attribute[0]
        if isinstance(attribute, str):
            return attribute.split(".", 1)[0]
    return None


def _render(value: object, endpoint_ids: set[str]) -> str | None:
    """A ResourceId as text: literals kept, references to endpoints as placeholders; None if unknowable."""
    if isinstance(value, str):
        return value
    target = referenced(value)
    if target is not None:
        return _ENDPOINT_REF.format(target) if target in endpoint_ids else None
    if isinstance(value, dict) and "Fn::Join" in value:
        delimiter, parts = value["Fn::Join"]
        rendered = [_render(part, endpoint_ids) for part in parts]
        return None if any(part is None for part in rendered) else delimiter.join(rendered)
    if isinstance(value, dict) and "Fn::Sub" in value:
        body = value["Fn::Sub"]
        if not isinstance(body, str):   # the [string, {variables}] form: variables may shadow names
            return None

        def substitute(match: re.Match) -> str:
            name = match.group(1).split(".", 1)[0]
            return _ENDPOINT_REF.format(name) if name in endpoint_ids else match.group(0)

        text = re.sub(r"\$\{([^}!]+)\}", substitute, body)
        return None if "${" in text else text
    return None


def endpoint_shapes(template: dict) -> dict[str, EndpointShape]:
    """{endpoint key: shape} for every AWS::SageMaker::Endpoint of a template."""
    endpoints = _resources(template, "AWS::SageMaker::Endpoint")
    configs = _resources(template, "AWS::SageMaker::EndpointConfig")
    ids = set(endpoints)
    by_name = {}
    for logical_id, properties in endpoints.items():
        name = properties.get("EndpointName")
        by_name[logical_id] = name if isinstance(name, str) else f"logical id {logical_id}"

    registered: dict[str, set[str]] = {logical_id: set() for logical_id in endpoints}
    literal_names = {name: logical_id for logical_id, name in by_name.items()}
    for properties in _resources(template, "AWS::ApplicationAutoScaling::ScalableTarget").values():
        if properties.get("ServiceNamespace") != "sagemaker" or properties.get("ScalableDimension") != _SAGEMAKER_VARIANT_DIMENSION:
            continue
        rendered = _render(properties.get("ResourceId"), ids)
        match = _RESOURCE_ID.match(rendered or "")
        if not match:
            continue
        endpoint = match.group("endpoint")
        placeholder = re.fullmatch("\x00endpoint:(.+)\x00", endpoint)
        owner = placeholder.group(1) if placeholder else literal_names.get(endpoint)
        if owner in registered:
            registered[owner].add(match.group("variant"))

    shapes = {}
    for logical_id, properties in endpoints.items():
        config = configs.get(referenced(properties.get("EndpointConfigName")) or "", {})
        variants = {
            variant["VariantName"]: variant.get("InstanceType")
            for variant in config.get("ProductionVariants") or []
            if isinstance(variant, dict) and isinstance(variant.get("VariantName"), str)
        }
        key = by_name[logical_id]
        shapes[key] = EndpointShape(key, logical_id, variants, frozenset(registered[logical_id]))
    return shapes


def find_hazards(baseline: dict | None, new: dict, *, environment: str, stack: str) -> list[Hazard]:
    """Hazards of updating from `baseline` (the deployed template; None: first deploy) to `new`.

    Only endpoints present on both sides are updates; a renamed endpoint is a replacement (a new
    endpoint is created, no UpdateEndpoint), and a deleted one is not an update either.
    """
    if not baseline:
        return []
    before, after = endpoint_shapes(baseline), endpoint_shapes(new)
    hazards = []
    for key, old in before.items():
        current = after.get(key)
        if current is None:
            continue
        for variant in sorted(old.registered):
            if variant not in old.variants:
                continue
            if variant not in current.variants:
                hazards.append(Hazard(environment, stack, key, variant, "removed", old.variants[variant]))
            elif current.variants[variant] != old.variants[variant]:
                hazards.append(Hazard(environment, stack, key, variant, "instance_type", old.variants[variant], current.variants[variant]))
    return hazards
