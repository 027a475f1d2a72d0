"""The endpoints the emulator serves: names, variants and instance types from the env config,
each variant routed to a local model server URL. An endpoint whose variants host their models as
inference components (`variant.inference_component` in config) also lists its components: each
places copies of its model on its variant, so a request naming it goes to that variant's server.

Kept as plain data (JSON round-trip) so the supervisor can hand it to the emulator process.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class LocalVariant:
    name: str
    upstream: str  # base URL of a container-contract model server, e.g. http://127.0.0.1:8080
    instance_type: str = "ml.g6.xlarge"
    instance_count: int = 1
    weight: float = 1.0
    model_name: str = "local-model"
    # ManagedInstanceScaling (Status, MinInstanceCount, MaxInstanceCount): the variant of an endpoint of
    # inference components, whose instances follow the components' copies; None: a fixed count.
    managed_instance_scaling: dict | None = None


@dataclass(frozen=True)
class LocalComponent:
    """An inference component (`AWS::SageMaker::InferenceComponent`) placed on one variant.

    `copies` is its RuntimeConfig CopyCount at creation; the emulator keeps the live count (which
    UpdateInferenceComponentRuntimeConfig changes) and answers as SageMaker does at 0 copies.
    `min_copies` 0: the component scales to zero, so its endpoint has the scale-out-from-zero step
    policy on the NoCapacityInvocationFailures alarm (the emulator's --scale-out-from-zero plays it)."""

    name: str
    variant: str
    model_name: str = "local-model"
    copies: int = 1
    min_copies: int = 1
    max_copies: int = 1
    accelerators: int = 1
    memory_mib: int = 1024
    copies_per_instance: int = 1

    @property
    def scales_to_zero(self) -> bool:
        return self.min_copies == 0


@dataclass(frozen=True)
class LocalEndpoint:
    name: str
    variants: tuple[LocalVariant, ...]
    account: str = "000000000000"
    region: str = "us-east-1"
    throttle_rps: float | None = None  # optional rate limit: ThrottlingException above it
    created: float = field(default_factory=time.time)
    components: tuple[LocalComponent, ...] = ()  # none: the variants serve their own models

    @property
    def arn(self) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:endpoint/{self.name.lower()}"

    @property
    def config_name(self) -> str:
        return f"{self.name}-config"

    @property
    def hosts_inference_components(self) -> bool:
        return bool(self.components)

    def variant(self, name: str) -> LocalVariant | None:
        return next((variant for variant in self.variants if variant.name == name), None)

    def component(self, name: str) -> LocalComponent | None:
        return next((component for component in self.components if component.name == name), None)

    def component_arn(self, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:inference-component/{name.lower()}"

    def pick_variant(self) -> LocalVariant:
        """Weighted random choice, as SageMaker splits traffic by variant weight."""
        if len(self.variants) == 1:
            return self.variants[0]
        return random.choices(self.variants, weights=[variant.weight for variant in self.variants])[0]


def endpoints_from_environment(environment, upstreams: dict[str, str]) -> list[LocalEndpoint]:
    """The env's inference endpoint, its variants routed by `upstreams` (variant name -> URL).

    `environment` is a `kit_config` EnvironmentConfig; an env without `inference` serves nothing.
    """
    inference = getattr(environment, "inference", None)
    if inference is None:
        return []
    missing = [variant.name for variant in inference.variants if variant.name not in upstreams]
    if missing:
        raise ValueError(f"no model server for variant(s) {missing} of endpoint {inference.endpoint_name}")
    variants = tuple(
        LocalVariant(
            name=variant.name,
            upstream=upstreams[variant.name],
            instance_type=variant.instance_type,
            instance_count=variant.initial_instance_count,
            weight=variant.initial_weight,
            model_name=variant.model.name,
            managed_instance_scaling=(
                {
                    "Status": "ENABLED",
                    "MinInstanceCount": variant.autoscaling.min_instances,
                    "MaxInstanceCount": variant.autoscaling.max_instances,
                }
                if variant.inference_component
                else None
            ),
        )
        for variant in inference.variants
    )
    components = tuple(
        LocalComponent(
            name=variant.component_name(inference.endpoint_name),
            variant=variant.name,
            model_name=variant.model.name,
            copies=variant.inference_component.initial_copies,
            min_copies=variant.inference_component.min_copies,
            max_copies=variant.inference_component.max_copies,
            accelerators=variant.inference_component.accelerators,
            memory_mib=variant.inference_component.memory_mib,
            copies_per_instance=variant.copies_per_instance,
        )
        for variant in inference.variants
        if variant.inference_component is not None
    )
    return [
        LocalEndpoint(inference.endpoint_name, variants, environment.account, environment.region, components=components)
    ]


def dump_endpoints(endpoints: list[LocalEndpoint]) -> str:
    return json.dumps([asdict(endpoint) for endpoint in endpoints])


def load_endpoints(text: str) -> list[LocalEndpoint]:
    return [
        LocalEndpoint(
            **{
                **item,
                "variants": tuple(LocalVariant(**variant) for variant in item["variants"]),
                "components": tuple(LocalComponent(**component) for component in item.get("components", ())),
            }
        )
        for item in json.loads(text)
    ]
