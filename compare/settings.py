"""The settings compared: each variant (or inference component) of an environment's endpoint, with the
runtime context it runs in and how a request is pinned to it.

A setting is pinned the way SageMaker Runtime routes: by its inference component's name
(`InferenceComponentName`, X-Amzn-SageMaker-Inference-Component) when config hosts its model as
one (an endpoint of components refuses a request that names none), else by its variant
(`TargetVariant`). The agent takes the same pin through its settings (AGENT_INFERENCE_COMPONENT /
AGENT_TARGET_VARIANT), the load test through EndpointTarget's `inference_component` / `variant`.

Locally an environment with a single variant gets a second one, `challenger` (a copy of the first
under its own name, served by its own model server, with a quarter of its `max_model_len`), so the
comparison has two settings of one endpoint; it is written to a scratch config folder
(KIT_CONFIG_DIR) that the local stack reads.
"""

from __future__ import annotations

import copy
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml

CHALLENGER = "challenger"
VARIANT, COMPONENT = "variant", "inference_component"


class CompareError(Exception):
    """Bad input or a setting that cannot be compared; the message names the flag or setting."""


@dataclass(frozen=True)
class Setting:
    name: str  # the variant's name
    endpoint_name: str
    region: str
    variant: str
    component: str | None  # its InferenceComponentName, when it hosts the model as one
    instance_type: str
    instance_count: int
    hourly_usd: float  # one instance, on demand (catalogue) or --price-per-hour
    price_source: str
    pinned_by: str = VARIANT  # VARIANT | COMPONENT
    context: dict[str, str] = field(default_factory=dict)  # the full runtime context (MLflow params)

    @property
    def pin(self) -> str:
        return self.component if self.pinned_by == COMPONENT else self.variant

    def endpoint_pin(self) -> dict[str, str]:
        """EndpointTarget's pinning keywords."""
        return {"inference_component": self.component} if self.pinned_by == COMPONENT else {"variant": self.variant}

    def agent_pin(self) -> dict[str, str]:
        """The agent's settings that pin its model calls to this setting (the other one cleared)."""
        if self.pinned_by == COMPONENT:
            return {"AGENT_INFERENCE_COMPONENT": self.component, "AGENT_TARGET_VARIANT": ""}
        return {"AGENT_TARGET_VARIANT": self.variant, "AGENT_INFERENCE_COMPONENT": ""}

    def params(self) -> dict[str, str]:
        return {
            **self.context,
            "pinned_by": self.pinned_by,
            "pin": self.pin,
            "hourly_usd_per_instance": f"{self.hourly_usd:g}",
            "price_source": self.price_source,
        }


def runtime_context(environment, variant) -> dict[str, str]:
    """What the setting runs on, as deployed: instance, image, LMI options, model, host AMI."""
    inference = environment.inference
    model = variant.model
    context = {
        "env": environment.name,
        "endpoint_name": inference.endpoint_name,
        "variant": variant.name,
        "inference_component": variant.component_name(inference.endpoint_name) or "",
        "instance_type": variant.instance_type,
        "instance_count": str(variant.initial_instance_count),
        "accelerator": f"{variant.spec.accelerator_count} x {variant.spec.accelerator}",
        "inference_ami_version": variant.inference_ami_version or "the instance family's default",
        "image": _image(environment),
        "lmi_version": inference.lmi_version if inference.image is None else "",
        "model": model.name,
        "model_source": model.s3_uri or model.hf_model_id or "",
        "max_model_len": str(model.max_model_len),
        "tensor_parallel_degree": str(model.tensor_parallel_degree),
        "tool_call_parser": model.tool_call_parser,
    }
    if variant.inference_component:
        component = variant.inference_component
        context["component_accelerators"] = str(component.accelerators)
        context["component_memory_mib"] = str(component.memory_mib)
        context["component_copies"] = f"{component.min_copies}..{component.max_copies}"
    context.update({f"lmi.{name}": value for name, value in _lmi_options(variant).items()})
    return context


def _image(environment) -> str:
    inference = environment.inference
    if inference.image:
        return inference.image
    from kit_config.serving_image import LmiTableUnavailable, lmi_image_uri

    try:
        return lmi_image_uri(environment.region, inference.lmi_version)
    except LmiTableUnavailable as error:
        return f"LMI {inference.lmi_version} (URI not resolved: {error})"


def _lmi_options(variant) -> dict[str, str]:
    """The container's OPTION_* settings, from the construct that deploys them (the one definition)."""
    from kit_constructs.inference_endpoint import lmi_environment

    return {name: value for name, value in lmi_environment(variant).items() if name.startswith("OPTION_")}


def discover(
    environment,
    *,
    only: list[str] | None = None,
    price_per_hour: float | None = None,
    local_models: dict[str, str] | None = None,
) -> list[Setting]:
    """The endpoint's settings in config order (`only`: these variants), each pinned as config deploys it."""
    inference = environment.inference
    if inference is None:
        raise CompareError(f"--env {environment.name!r}: config has no inference section: no endpoint to compare")
    known = [variant.name for variant in inference.variants]
    unknown = [name for name in only or [] if name not in known]
    if unknown:
        raise CompareError(f"--settings {','.join(unknown)}: the endpoint's variants are {known}")
    settings = []
    for variant in inference.variants:
        if only and variant.name not in only:
            continue
        component = variant.component_name(inference.endpoint_name)
        hourly, source = _price(variant.instance_type, environment.region, price_per_hour)
        context = runtime_context(environment, variant)
        if local_models is not None:
            context["local_model"] = local_models.get(variant.name, "")
        settings.append(
            Setting(
                name=variant.name,
                endpoint_name=inference.endpoint_name,
                region=environment.region,
                variant=variant.name,
                component=component,
                instance_type=variant.instance_type,
                instance_count=variant.initial_instance_count,
                hourly_usd=hourly,
                price_source=source,
                pinned_by=COMPONENT if component else VARIANT,
                context=context,
            )
        )
    return settings


def _price(instance_type: str, region: str, price_per_hour: float | None) -> tuple[float, str]:
    """$/hour of one instance and its source, as loadtest prices a fleet (catalogue or --price-per-hour)."""
    from loadtest.costs import fleet_for
    from loadtest.profiles import LoadtestError

    try:
        fleet = fleet_for([(instance_type, 1)], region, price_per_hour)
    except LoadtestError as error:
        raise CompareError(str(error)) from None
    return fleet.hourly_usd, fleet.source


def local_config_dir(source_dir: Path, env: str, scratch: Path) -> Path:
    """A copy of the config folder in which `env`'s endpoint has at least two variants: a single
    variant gets a `challenger` copy (own name, own model server, own component name)."""
    target = scratch / "config"
    shutil.copytree(source_dir, target)
    path = target / f"{env}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    inference = data.get("inference") or {}
    variants = inference.get("variants") or []
    if len(variants) == 1:
        challenger = copy.deepcopy(variants[0])
        challenger["name"] = CHALLENGER
        # The setting that differs: LMI's OPTION_MAX_MODEL_LEN, which the local model server honours as vLLM
        # does (a longer prompt is refused), at a quarter of the first variant's.
        model = challenger.get("model") or {}
        model["max_model_len"] = max(512, int(model.get("max_model_len", 8192)) // 4)
        if isinstance(challenger.get("inference_component"), dict):
            challenger["inference_component"].pop("name", None)
        variants.append(challenger)
        # Room for the copy's instances in the quota guard (the local stack never asks AWS for any).
        scaling = challenger.get("autoscaling") or {}
        inference["max_instances_cap"] = int(inference.get("max_instances_cap", 1)) * 2 + int(
            scaling.get("max_instances", 1)
        )
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return target
