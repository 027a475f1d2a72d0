"""Endpoint updates SageMaker refuses, found by comparing two templates.

Application Auto Scaling: SageMaker refuses an UpdateEndpoint that changes the instance type of a
production variant that is a registered scalable target, or that removes such a variant ("Update
endpoints that use auto scaling": https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html).
In a CloudFormation update the endpoint is updated before the scalable target (the target depends
on the endpoint), so deregistering in the same change does not help: the update fails and the
stack rolls back after a long wait. Changing the model of an autoscaled variant is allowed (same page).

Deployment guardrails: "When doing a blue/green or rolling deployment, your new endpoint
configuration must have the same variant name as the old endpoint configuration" ("Exclusions",
https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-exclusions.html). Adding,
removing or renaming a variant (autoscaled or not) of an endpoint updated with a
BlueGreenUpdatePolicy or RollingUpdatePolicy is a hazard. The DeploymentConfig that governs an
update is the one UpdateEndpoint receives: CloudFormation sends the new template's; without one,
the last one is reused only when RetainDeploymentConfig is true ("Specifies whether to reuse the
last deployment configuration. The default value is false", API_UpdateEndpoint.html). The same
page's feature exclusions do not apply to templates the kit can produce: Marketplace containers
and Inf1 instances only make the update fall back to all-at-once (the instance catalogue has no
Inf1, the kit uses no model packages), and the rolling-only exclusions (serverless, multi-variant)
concern RollingUpdatePolicy, which the kit never sets.

Inference components: an endpoint config whose variants name no model hosts inference components.
AWS documents no UpdateEndpoint from an endpoint config of one kind to the other (components are
created against an endpoint, and SageMaker refuses a model-less variant's request without a component
name, docs/deploy-readiness.md C2, C7); an update that switches the hosting of a live endpoint is a
hazard whose safe procedure replaces the endpoint under a new name.

`find_hazards(baseline, new)` is pure: two CloudFormation templates (dicts) in, hazards out.
`release/diff.py` and `release/preflight.py` feed it the deployed (or git-baseline) template
and the freshly synthesized one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SOURCE = "https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html"
GUARDRAILS_EXCLUSIONS = "https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-exclusions.html"
# The config knob that deploys one update without deployment guardrails (no DeploymentConfig).
NO_GUARDRAILS = "inference.deployment.strategy: none"
_GUARDRAIL_POLICIES = ("BlueGreenUpdatePolicy", "RollingUpdatePolicy")
_SAGEMAKER_VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
_RESOURCE_ID = re.compile(r"^endpoint/(?P<endpoint>[^/]+)/variant/(?P<variant>[^/]+)$")
_ENDPOINT_REF = "\x00endpoint:{}\x00"  # placeholder for a reference to an endpoint resource


@dataclass(frozen=True)
class EndpointShape:
    """One AWS::SageMaker::Endpoint: its variants (name -> instance type) and which are autoscaled."""

    key: str  # the EndpointName when literal, else "logical id <Id>"
    logical_id: str
    variants: dict[str, object] = field(default_factory=dict)  # InstanceType (str, or an intrinsic)
    registered: frozenset[str] = frozenset()
    deployment_policy: str | None = None  # BlueGreenUpdatePolicy | RollingUpdatePolicy in its DeploymentConfig
    has_deployment_config: bool = False
    retain_deployment_config: bool = False
    hosts_components: bool = False  # its variants name no model: inference components

    def guardrails_for_update_from(self, old: EndpointShape) -> str | None:
        """The guardrail policy an update from `old` to this shape runs with, or None.

        UpdateEndpoint gets this (the new) template's DeploymentConfig; without one it reuses the
        last one only with RetainDeploymentConfig: true (default false, API_UpdateEndpoint.html).
        """
        if self.has_deployment_config:
            return self.deployment_policy
        return old.deployment_policy if self.retain_deployment_config else None


@dataclass(frozen=True)
class Hazard:
    environment: str
    stack: str
    endpoint: str
    variant: str  # for "variant_names": the added and removed names, comma-separated
    kind: str  # "instance_type" | "removed" | "variant_names" | "hosting"
    before: object
    after: object = None
    guardrails: str | None = None  # the update's guardrail policy (BlueGreenUpdatePolicy, ...), if any

    @property
    def message(self) -> str:
        config = f"config/{self.environment}.yaml"
        if self.kind == "variant_names":
            return self._variant_names_message(config)
        if self.kind == "hosting":
            return self._hosting_message(config)
        where = f"{self.environment}/{self.stack}: endpoint {self.endpoint}, variant {self.variant!r}"
        if self.kind == "instance_type":
            change = f"instance type {self.before} -> {self.after}"
            step2 = "change the instance type and set `registered: true` again, and deploy"
        elif self.guardrails:
            # Removing a variant also changes the variant names, which a guardrail update refuses.
            change = "the variant is removed"
            step2 = (
                f"remove the variant, and deploy with `{NO_GUARDRAILS}` (the endpoint updates with a "
                f"{self.guardrails}, which requires the same variant names: {GUARDRAILS_EXCLUSIONS}); "
                "3) set `inference.deployment.strategy` back, and deploy"
            )
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

    def _hosting_message(self, config: str) -> str:
        what = {True: "inference components", False: "models on its variants"}
        return (
            f"{self.environment}/{self.stack}: endpoint {self.endpoint}: the update switches its hosting from "
            f"{what[self.before]} to {what[self.after]}; AWS documents no UpdateEndpoint between the two kinds of "
            "endpoint config (inference components need an endpoint config whose variants name no model, and requests "
            "must then name a component), so the update is likely to fail after the new capacity is provisioned. "
            f"Safe procedure: change `inference.endpoint_name` in {config} together with the hosting, and deploy: "
            "CloudFormation creates the new endpoint, the agent follows its name, and the old endpoint is deleted "
            "afterwards. Source: docs/deploy-readiness.md (C2, C7)"
        )

    def _variant_names_message(self, config: str) -> str:
        before, after = list(self.before), list(self.after)
        added = [name for name in after if name not in before]
        removed = [name for name in before if name not in after]
        change = "; ".join(
            part
            for part in (
                f"adds {', '.join(map(repr, added))}" if added else "",
                f"removes {', '.join(map(repr, removed))}" if removed else "",
            )
            if part
        )
        return (
            f"{self.environment}/{self.stack}: endpoint {self.endpoint}: the update {change} (variants {before} -> {after}) "
            f"while the endpoint updates with deployment guardrails ({self.guardrails}); SageMaker requires the new endpoint "
            "configuration of a blue/green or rolling update to have the same variant names as the old one, so the update "
            "fails and CloudFormation rolls the stack back. "
            f"Safe procedure: 1) make the variant change with `{NO_GUARDRAILS}` in {config} and deploy (one update without "
            "guardrails: traffic shifts all at once, no alarm-driven rollback); "
            f"2) set `inference.deployment.strategy` back, and deploy. Source: {GUARDRAILS_EXCLUSIONS}"
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
        if not isinstance(body, str):  # the [string, {variables}] form: variables may shadow names
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
        if (
            properties.get("ServiceNamespace") != "sagemaker"
            or properties.get("ScalableDimension") != _SAGEMAKER_VARIANT_DIMENSION
        ):
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
        declared = [
            variant
            for variant in config.get("ProductionVariants") or []
            if isinstance(variant, dict) and isinstance(variant.get("VariantName"), str)
        ]
        variants = {variant["VariantName"]: variant.get("InstanceType") for variant in declared}
        key = by_name[logical_id]
        deployment = properties.get("DeploymentConfig")
        policy = next(
            (name for name in _GUARDRAIL_POLICIES if isinstance(deployment, dict) and deployment.get(name)), None
        )
        shapes[key] = EndpointShape(
            key,
            logical_id,
            variants,
            frozenset(registered[logical_id]),
            deployment_policy=policy,
            has_deployment_config=deployment is not None,
            retain_deployment_config=properties.get("RetainDeploymentConfig") in (True, "true"),
            hosts_components=bool(declared) and all(variant.get("ModelName") is None for variant in declared),
        )
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
        if current.hosts_components != old.hosts_components:
            hazards.append(
                Hazard(environment, stack, key, "", "hosting", old.hosts_components, current.hosts_components)
            )
            continue  # the procedure replaces the endpoint: its variants' hazards do not arise
        guardrails = current.guardrails_for_update_from(old)
        covered = set()  # removed registered variants: their hazard already carries the guardrails step
        for variant in sorted(old.registered):
            if variant not in old.variants:
                continue
            if variant not in current.variants:
                hazards.append(
                    Hazard(environment, stack, key, variant, "removed", old.variants[variant], guardrails=guardrails)
                )
                covered.add(variant)
            elif current.variants[variant] != old.variants[variant]:
                hazards.append(
                    Hazard(
                        environment,
                        stack,
                        key,
                        variant,
                        "instance_type",
                        old.variants[variant],
                        current.variants[variant],
                    )
                )
        if guardrails:
            changed = (set(old.variants) ^ set(current.variants)) - covered
            if changed:
                hazards.append(
                    Hazard(
                        environment,
                        stack,
                        key,
                        ", ".join(sorted(changed)),
                        "variant_names",
                        tuple(old.variants),
                        tuple(current.variants),
                        guardrails=guardrails,
                    )
                )
    return hazards
