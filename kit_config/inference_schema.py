"""The `inference:` section of an environment: the SageMaker AI real-time endpoint.

Part of the one `EnvironmentConfig` schema; split out only to keep modules to one concern.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from kit_config.instance_catalogue import INSTANCE_CATALOGUE, NEURON_ACCELERATORS

# The LMI (DJL) container version, resolved to an image URI offline by the sagemaker SDK.
DEFAULT_LMI_VERSION = "0.38.0"
_NAME = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"  # SageMaker endpoint / variant name rules


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ModelWeights(_Section):
    """Where the weights come from, and what LMI needs to serve them with tool calling."""

    s3_uri: Annotated[str, Field(pattern=r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]/(.+/)?$")] | None = Field(
        default=None, description="Uncompressed weights under an S3 prefix (ends with /)"
    )
    hf_model_id: Annotated[str, Field(pattern=r"^[\w.\-]+/[\w.\-]+$")] | None = Field(
        default=None, description="Hugging Face Hub id; needs network_isolation: false and an egress path"
    )
    name: Annotated[str, Field(min_length=1, max_length=100)] = Field(description="What the model is, for humans and alarms")
    memory_gib: float | None = Field(
        default=None, gt=0, description="Accelerator memory the model needs (weights + KV cache); checked against the instance"
    )
    max_model_len: int = Field(default=8192, ge=512, le=1_048_576)
    tensor_parallel_degree: int | Literal["max"] = "max"
    tool_call_parser: Literal["hermes", "llama3_json", "mistral", "pythonic", "granite"] = "hermes"
    network_isolation: bool = True

    @model_validator(mode="after")
    def _one_source(self) -> "ModelWeights":
        if (self.s3_uri is None) == (self.hf_model_id is None):
            raise ValueError("set exactly one of s3_uri or hf_model_id")
        if self.hf_model_id and self.network_isolation:
            raise ValueError(
                "hf_model_id with network_isolation: true cannot work: an isolated container cannot "
                "reach the Hugging Face Hub; stage the weights in S3 and use s3_uri"
            )
        return self

    @property
    def s3_bucket(self) -> str | None:
        return self.s3_uri.removeprefix("s3://").split("/", 1)[0] if self.s3_uri else None

    @property
    def s3_prefix(self) -> str:
        return self.s3_uri.removeprefix("s3://").split("/", 1)[1] if self.s3_uri else ""


class ScheduledScaling(_Section):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,64}$")]
    schedule: Annotated[str, Field(pattern=r"^cron\(.+\)$|^rate\(.+\)$")] = Field(
        description="Application Auto Scaling expression, e.g. cron(0 20 ? * MON-FRI *)"
    )
    min_instances: int = Field(ge=1)
    max_instances: int = Field(ge=1)
    timezone: str = "UTC"


class Autoscaling(_Section):
    min_instances: int = Field(ge=1)
    max_instances: int = Field(ge=1)
    metric: Literal["concurrency", "invocations"] = Field(
        default="concurrency",
        description="concurrency: ConcurrentRequestsPerModel, high resolution (10 s); invocations: InvocationsPerInstance (per minute)",
    )
    target_value: float = Field(gt=0, description="Concurrent requests per model copy, or invocations per instance per minute")
    scale_in_cooldown_seconds: int = Field(default=300, ge=0, le=3600)
    scale_out_cooldown_seconds: int = Field(default=60, ge=0, le=3600)
    scheduled: list[ScheduledScaling] = []
    registered: bool = Field(
        default=True,
        description="false deregisters the variant from Application Auto Scaling (capacity stays as it is): "
        "the first step of changing an autoscaled variant's instance type or removing it (docs/deploy.md)",
    )

    @model_validator(mode="after")
    def _ordered(self) -> "Autoscaling":
        if self.min_instances > self.max_instances:
            raise ValueError(f"min_instances ({self.min_instances}) is greater than max_instances ({self.max_instances})")
        for action in self.scheduled:
            if action.min_instances > action.max_instances or action.max_instances > self.max_instances:
                raise ValueError(f"scheduled action {action.name!r} needs min <= max <= autoscaling max_instances")
        return self


class Variant(_Section):
    name: Annotated[str, Field(pattern=_NAME)]
    instance_type: str
    model: ModelWeights
    initial_instance_count: int = Field(ge=1)
    initial_weight: float = Field(default=1.0, gt=0)
    volume_size_gb: int | None = Field(
        default=None, ge=1, le=512, description="EBS ML storage volume; only for instance types without NVMe storage"
    )
    autoscaling: Autoscaling

    @field_validator("instance_type")
    @classmethod
    def _accelerated(cls, value: str) -> str:
        if value not in INSTANCE_CATALOGUE:
            family = value.split(".")[1] if value.count(".") == 2 else value
            kind = "a CPU instance type" if re.match(r"^(t|m|c|r)\d", family) else "not an instance type the kit knows"
            raise ValueError(
                f"{value!r} is {kind}; an LLM endpoint needs a GPU/accelerator type: "
                + ", ".join(sorted(INSTANCE_CATALOGUE))
            )
        return value

    @field_validator("volume_size_gb")
    @classmethod
    def _ebs_only(cls, size: int | None, info: ValidationInfo) -> int | None:
        spec = INSTANCE_CATALOGUE.get(info.data.get("instance_type", ""))
        if size is not None and spec and spec.local_nvme_storage:
            raise ValueError(
                f"{info.data['instance_type']} uses NVMe instance storage; SageMaker does not accept VolumeSizeInGB for it"
            )
        return size

    @field_validator("model")
    @classmethod
    def _fits(cls, model: ModelWeights, info: ValidationInfo) -> ModelWeights:
        spec = INSTANCE_CATALOGUE.get(info.data.get("instance_type", ""))
        if spec and model.memory_gib and model.memory_gib > spec.accelerator_memory_gib:
            raise ValueError(
                f"model {model.name!r} needs {model.memory_gib:g} GiB of accelerator memory; "
                f"{info.data['instance_type']} has {spec.accelerator_memory_gib:g} GiB "
                f"({spec.accelerator_count} x {spec.accelerator} {spec.memory_per_accelerator_gib:g} GiB)"
            )
        return model

    @field_validator("autoscaling")
    @classmethod
    def _holds_initial_count(cls, autoscaling: Autoscaling, info: ValidationInfo) -> Autoscaling:
        initial = info.data.get("initial_instance_count")
        if initial is not None and not autoscaling.min_instances <= initial <= autoscaling.max_instances:
            raise ValueError(
                f"initial_instance_count ({initial}) must lie within min_instances..max_instances "
                f"({autoscaling.min_instances}..{autoscaling.max_instances})"
            )
        return autoscaling

    @property
    def spec(self):
        return INSTANCE_CATALOGUE[self.instance_type]


class DataCapture(_Section):
    enabled: bool = True
    sampling_percentage: int = Field(default=100, ge=0, le=100)
    capture_days: int = Field(default=30, ge=1, le=3650, description="How long captured payloads are kept")


class Deployment(_Section):
    """Blue/green rollout of endpoint updates, rolled back automatically on the endpoint's alarms."""

    strategy: Literal["all_at_once", "canary", "linear"] = "canary"
    canary_percent: int = Field(default=10, ge=1, le=50)
    linear_step_percent: int = Field(default=25, ge=5, le=50)
    wait_minutes: int = Field(default=10, ge=0, le=60, description="Bake time per step before shifting more traffic")
    termination_wait_minutes: int = Field(default=5, ge=0, le=60, description="Old fleet kept after the shift, for rollback")


class AlarmThresholds(_Section):
    model_latency_p95_ms: int = Field(default=20_000, gt=0)
    invocation_5xx_errors: int = Field(default=5, ge=1, description="5XX errors per minute")
    invocation_4xx_error_rate_percent: float = Field(default=5.0, gt=0, le=100)
    gpu_memory_utilization_percent: float = Field(default=95.0, gt=0, le=100)
    evaluation_periods: int = Field(default=3, ge=1, le=60)


class InferenceConfig(_Section):
    endpoint_name: Annotated[str, Field(pattern=_NAME)]
    image: Annotated[str, Field(pattern=r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[\w./-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$")] | None = Field(
        default=None, description="Serving image; default: the LMI (DJL) image for lmi_version"
    )
    lmi_version: Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+$")] = DEFAULT_LMI_VERSION
    variants: list[Variant] = Field(min_length=1, max_length=2)
    max_instances_cap: int = Field(ge=1, description="Most instances all variants may scale to together (quota guard)")
    container_startup_health_check_timeout_seconds: int = Field(default=900, ge=60, le=3600)
    model_data_download_timeout_seconds: int = Field(default=1200, ge=60, le=3600)
    data_capture: DataCapture = DataCapture()
    deployment: Deployment = Deployment()
    alarms: AlarmThresholds = AlarmThresholds()

    @model_validator(mode="after")
    def _consistent(self) -> "InferenceConfig":
        names = [variant.name for variant in self.variants]
        if len(set(names)) != len(names):
            raise ValueError(f"variant names must be unique: {names}")
        total = sum(variant.autoscaling.max_instances for variant in self.variants)
        if total > self.max_instances_cap:
            raise ValueError(
                f"variants may scale to {total} instances together, above max_instances_cap ({self.max_instances_cap})"
            )
        neuron = [v.name for v in self.variants if INSTANCE_CATALOGUE[v.instance_type].accelerator in NEURON_ACCELERATORS]
        if neuron and self.image is None:
            raise ValueError(
                f"variant(s) {neuron} use Inferentia/Trainium: set inference.image to the LMI Neuron image "
                "(the default LMI image is for NVIDIA GPUs)"
            )
        return self

    def rollout_peak_instances(self) -> dict[str, int]:
        """Instances per instance type at the peak of an endpoint update, fully scaled out.

        Every kit rollout (all_at_once, canary, linear) is a SageMaker blue/green deployment: the
        green fleet is provisioned at the blue fleet's capacity before traffic shifts, so an update
        holds twice the variants' instances until the termination wait ends ("Blue/Green
        Deployments", SageMaker developer guide). Quota checks and the cost envelope use this.
        """
        peak: dict[str, int] = {}
        for variant in self.variants:
            peak[variant.instance_type] = peak.get(variant.instance_type, 0) + 2 * variant.autoscaling.max_instances
        return peak
