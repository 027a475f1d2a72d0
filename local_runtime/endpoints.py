"""The endpoints the emulator serves: names, variants and instance types from the env config,
each variant routed to a local model server URL.

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


@dataclass(frozen=True)
class LocalEndpoint:
    name: str
    variants: tuple[LocalVariant, ...]
    account: str = "000000000000"
    region: str = "us-east-1"
    throttle_rps: float | None = None  # optional rate limit: ThrottlingException above it
    created: float = field(default_factory=time.time)

    @property
    def arn(self) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:endpoint/{self.name.lower()}"

    @property
    def config_name(self) -> str:
        return f"{self.name}-config"

    def variant(self, name: str) -> LocalVariant | None:
        return next((variant for variant in self.variants if variant.name == name), None)

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
        )
        for variant in inference.variants
    )
    return [LocalEndpoint(inference.endpoint_name, variants, environment.account, environment.region)]


def dump_endpoints(endpoints: list[LocalEndpoint]) -> str:
    return json.dumps([asdict(endpoint) for endpoint in endpoints])


def load_endpoints(text: str) -> list[LocalEndpoint]:
    return [
        LocalEndpoint(**{**item, "variants": tuple(LocalVariant(**variant) for variant in item["variants"])})
        for item in json.loads(text)
    ]
