"""The `inference:` section of an environment: the SageMaker AI real-time endpoint.

Part of the one `EnvironmentConfig` schema; split out only to keep modules to one concern.
"""

from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from kit_config import gpu_drivers, serving_image
from kit_config.config_section import ConfigSection
from kit_config.gpu_drivers import InferenceAmiVersion
from kit_config.instance_catalogue import INSTANCE_CATALOGUE, NEURON_ACCELERATORS
from kit_config.schedule_expressions import validate_schedule
from kit_config.validation_errors import errors_at

# The LMI (DJL) container version, resolved to an image URI offline by the sagemaker SDK.
DEFAULT_LMI_VERSION = "0.38.0"
_NAME = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"  # SageMaker endpoint / variant name rules
# PutScheduledAction ScheduledActionName: 1-256 characters, no leading or trailing space, no
# control characters, no : / | (https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PutScheduledAction.html).
_SCHEDULED_ACTION_NAME = re.compile(r"(?!((^[ ]+.*)|(.*([\u0000-\u001f]|[\u007f-\u009f]|[:/|])+.*)|(.*[ ]+$))).{1,256}")
# BlueGreenUpdatePolicy.MaximumExecutionTimeoutInSeconds: 600-28800
# (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_BlueGreenUpdatePolicy.html).
ROLLOUT_TIMEOUT_RANGE_SECONDS = (600, 28800)


class ModelWeights(ConfigSection):
    """Where the weights come from, and what LMI needs to serve them with tool calling."""

    s3_uri: Annotated[str, Field(pattern=r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]/(.+/)?$")] | None = Field(
        default=None, description="Uncompressed weights under an S3 prefix (ends with /)"
    )
    hf_model_id: Annotated[str, Field(pattern=r"^[\w.\-]+/[\w.\-]+$")] | None = Field(
        default=None, description="Hugging Face Hub id; needs network_isolation: false and an egress path"
    )
    name: Annotated[str, Field(min_length=1, max_length=100)] = Field(
        description="What the model is, for humans and alarms"
    )
    memory_gib: float | None = Field(
        default=None,
        gt=0,
        description="Accelerator memory the model needs (weights + KV cache); checked against the instance",
    )
    max_model_len: int = Field(default=8192, ge=512, le=1_048_576)
    tensor_parallel_degree: int | Literal["max"] = Field(
        default="max", description="GPUs the model is sharded over; max: all of the instance's GPUs (LMI)"
    )
    tool_call_parser: Literal["hermes", "llama3_json", "mistral", "pythonic", "granite"] = "hermes"
    network_isolation: bool = True

    @field_validator("tensor_parallel_degree")
    @classmethod
    def _positive_degree(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 1:
            raise ValueError(f"{value} is not a tensor-parallel degree; use a whole number of GPUs (1, 2, 4, 8) or max")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> ModelWeights:
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


class ScheduledScaling(ConfigSection):
    name: str = Field(description="Scheduled action name, unique per variant (1-256 characters, no : / |)")
    schedule: str = Field(
        description="Application Auto Scaling expression: at(...), rate(...) or cron(...), e.g. cron(0 20 ? * MON-FRI *)"
    )
    min_instances: int = Field(ge=1)
    max_instances: int = Field(ge=1)
    timezone: str = Field(default="UTC", description="IANA time zone the at/cron expression is read in")

    @field_validator("name")
    @classmethod
    def _action_name(cls, value: str) -> str:
        if not _SCHEDULED_ACTION_NAME.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a scheduled action name: 1-256 characters without leading or trailing "
                "spaces, control characters, ':', '/' or '|'"
            )
        return value

    @field_validator("schedule")
    @classmethod
    def _expression(cls, value: str) -> str:
        return validate_schedule(value)

    @field_validator("timezone")
    @classmethod
    def _iana_zone(cls, value: str) -> str:
        # PutScheduledAction Timezone: "the canonical names of the IANA time zones supported by
        # Joda-Time (such as Etc/GMT+9 or Pacific/Tahiti)"; zoneinfo lists the IANA database's names.
        if not _time_zones():
            raise ValueError(
                "no IANA time-zone database on this machine to check it against: pip install -r requirements.txt (tzdata)"
            )
        if value not in _time_zones():
            close = sorted(
                zone for zone in _time_zones() if zone.lower() == value.lower() or zone.endswith("/" + value)
            )
            hint = (
                f"; did you mean {', '.join(close[:3])}?" if close else " (e.g. America/New_York, Europe/Berlin, UTC)"
            )
            raise ValueError(f"{value!r} is not an IANA time zone name{hint}")
        return value


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class Autoscaling(ConfigSection):
    min_instances: int = Field(
        ge=0, description="0 only for an inference component that scales to zero (managed instance scaling)"
    )
    max_instances: int = Field(ge=1)
    metric: Literal["concurrency", "invocations"] = Field(
        default="concurrency",
        description="concurrency: ConcurrentRequestsPerModel, high resolution (10 s); invocations: InvocationsPerInstance (per minute)",
    )
    target_value: float = Field(
        gt=0, description="Concurrent requests per model copy, or invocations per instance per minute"
    )
    scale_in_cooldown_seconds: int = Field(default=300, ge=0, le=3600)
    scale_out_cooldown_seconds: int = Field(default=60, ge=0, le=3600)
    scheduled: list[ScheduledScaling] = Field(default=[])
    registered: bool = Field(
        default=True,
        description="false deregisters the variant from Application Auto Scaling (capacity stays as it is): "
        "the first step of changing an autoscaled variant's instance type or removing it (docs/deploy.md)",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Autoscaling:
        if self.min_instances > self.max_instances:
            raise ValueError(
                f"min_instances ({self.min_instances}) is greater than max_instances ({self.max_instances})"
            )
        problems = []
        seen: set[str] = set()
        for index, action in enumerate(self.scheduled):
            # A scalable target's scheduled action names are unique (PutScheduledAction); a second
            # action of the same name would replace the first.
            if action.name in seen:
                problems.append(
                    (
                        ("scheduled", index, "name"),
                        f"{action.name!r} is already the name of another scheduled action of this variant",
                    )
                )
            seen.add(action.name)
            if action.min_instances > action.max_instances:
                problems.append(
                    (
                        ("scheduled", index),
                        f"min_instances ({action.min_instances}) is greater than max_instances ({action.max_instances})",
                    )
                )
            elif action.max_instances > self.max_instances:
                # The kit's quota guard (max_instances_cap) counts autoscaling.max_instances only.
                problems.append(
                    (
                        ("scheduled", index, "max_instances"),
                        f"{action.max_instances} is above autoscaling max_instances ({self.max_instances}), which the quota guard counts",
                    )
                )
        if problems:
            raise errors_at("Autoscaling", problems)
        return self

    @property
    def smallest_instance_count(self) -> int:
        """The fewest instances the variant can run with: its minimum, or a scheduled action's lower one."""
        return min([self.min_instances, *(action.min_instances for action in self.scheduled)])


class InferenceComponent(ConfigSection):
    """Host the variant's model as an inference component (`AWS::SageMaker::InferenceComponent`).

    The variant becomes capacity only (instances under managed instance scaling, no model); the
    component places copies of the model on it and autoscales their count on the high-resolution
    per-copy concurrency metric. `min_copies: 0` is scale to zero: with the variant's
    `autoscaling.min_instances: 0` the endpoint releases every instance when idle, and a step policy
    on the `NoCapacityInvocationFailures` alarm brings a copy back on the first request
    ("Scale an endpoint to zero instances",
    https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-zero-instances.html).
    """

    name: Annotated[str, Field(pattern=_NAME)] | None = Field(
        default=None, description="InferenceComponentName; default <endpoint_name>-<variant name>"
    )
    accelerators: int = Field(ge=1, description="NumberOfAcceleratorDevicesRequired by one copy")
    memory_mib: int = Field(ge=1024, description="MinMemoryRequiredInMb: host memory one copy reserves")
    initial_copies: int = Field(default=1, ge=1, description="RuntimeConfig CopyCount at creation")
    min_copies: int = Field(ge=0, description="0: scale to zero (with autoscaling.min_instances: 0)")
    max_copies: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> InferenceComponent:
        if not self.min_copies <= self.initial_copies <= self.max_copies:
            raise errors_at(
                "InferenceComponent",
                [
                    (
                        ("initial_copies",),
                        f"{self.initial_copies} must lie within min_copies..max_copies ({self.min_copies}..{self.max_copies})",
                    )
                ],
            )
        return self

    @property
    def scales_to_zero(self) -> bool:
        return self.min_copies == 0


class Variant(ConfigSection):
    name: Annotated[str, Field(pattern=_NAME)]
    instance_type: str
    model: ModelWeights
    initial_instance_count: int = Field(ge=1)
    initial_weight: float = Field(default=1.0, gt=0)
    volume_size_gb: int | None = Field(
        default=None, ge=1, le=512, description="EBS ML storage volume; only for instance types without NVMe storage"
    )
    autoscaling: Autoscaling
    inference_ami_version: InferenceAmiVersion | None = Field(
        default=None,
        description="ProductionVariant InferenceAmiVersion: the host AMI and so its NVIDIA driver; unset: the "
        "instance family's default driver, allowed only where that driver runs the image (see gpu_drivers.py)",
    )
    inference_component: InferenceComponent | None = Field(
        default=None,
        description="Host the model as an inference component on managed instance scaling (copy autoscaling, "
        "scale to zero); unset: the model is the variant's own (instance autoscaling)",
    )

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

    @model_validator(mode="after")
    def _parallelism_fits(self) -> Variant:
        degree, spec = self.model.tensor_parallel_degree, self.spec
        if degree == "max" or spec.accelerator in NEURON_ACCELERATORS:
            # "max" is every GPU of the instance (LMI's TENSOR_PARALLEL_DEGREE=max). On Neuron the
            # degree counts NeuronCores (two per chip), not the catalogue's chips: not checked here.
            return self
        where = ("model", "tensor_parallel_degree")
        if degree > spec.accelerator_count:
            raise errors_at(
                "Variant",
                [
                    (
                        where,
                        (
                            f"{degree} is more GPUs than {self.instance_type} has ({spec.accelerator_count} x {spec.accelerator}); "
                            "vLLM cannot start that many tensor-parallel workers on one instance"
                        ),
                    )
                ],
            )
        if degree & (degree - 1):
            # vLLM shards attention (and KV) heads across the ranks: "Total number of attention heads
            # must be divisible by tensor parallel size" (vllm-project/vllm#11797). Common models' head
            # counts are multiples of 4 or 8 (28, 40, 64) and the catalogue's GPU counts are 1, 4 and 8,
            # so the kit accepts powers of two; the model's own head count is not in config.
            raise errors_at(
                "Variant",
                [
                    (
                        where,
                        (
                            f"{degree} is not a power of two; vLLM needs the model's attention heads to divide by it "
                            f"(use 1, 2, 4 or 8 up to {spec.accelerator_count}, or max)"
                        ),
                    )
                ],
            )
        return self

    @model_validator(mode="after")
    def _component_fits(self) -> Variant:
        """Scale to zero needs a component; a component's copies fit the instances it may use."""
        component, scaling, spec = self.inference_component, self.autoscaling, self.spec
        problems: list[tuple[tuple, str]] = []
        if component is None:
            if scaling.min_instances == 0:
                problems.append(
                    (
                        ("autoscaling", "min_instances"),
                        "0 instances needs an inference_component: SageMaker scales an endpoint to zero only when it "
                        "hosts inference components (endpoint-auto-scaling-zero-instances.html)",
                    )
                )
            _raise_if(problems)
            return self
        where = ("inference_component",)
        if not scaling.registered:
            problems.append(
                (
                    ("autoscaling", "registered"),
                    "false deregisters a variant for an instance-type change (E3); a variant of inference components "
                    "is not a scalable target (its component's copies are), and without them scale to zero has no way back",
                )
            )
        if component.scales_to_zero != (scaling.min_instances == 0):
            problems.append(
                (
                    ("autoscaling", "min_instances"),
                    f"{scaling.min_instances} with inference_component.min_copies {component.min_copies}: scale to zero "
                    "needs both at 0 (an instance kept for no copy is paid for; copies kept at 0 instances cannot run)",
                )
            )
        if scaling.scheduled:
            problems.append(
                (
                    ("autoscaling", "scheduled"),
                    "scheduled actions change a variant's instance count, which managed instance scaling owns for an "
                    "inference component; use min_copies: 0 (scale to zero) to stop paying while idle",
                )
            )
        if component.accelerators > spec.accelerator_count:
            problems.append(
                (
                    (*where, "accelerators"),
                    f"{component.accelerators} is more than {self.instance_type} has ({spec.accelerator_count} x {spec.accelerator})",
                )
            )
        elif component.memory_mib > spec.host_memory_gib * 1024:
            problems.append(
                (
                    (*where, "memory_mib"),
                    f"{component.memory_mib} MiB is more host memory than {self.instance_type} has ({spec.host_memory_gib:g} GiB)",
                )
            )
        else:
            per_instance = self.copies_per_instance
            for field, copies, instances in (
                ("max_copies", component.max_copies, scaling.max_instances),
                ("initial_copies", component.initial_copies, self.initial_instance_count),
            ):
                if copies > instances * per_instance:
                    problems.append(
                        (
                            (*where, field),
                            f"{copies} copies do not fit on {instances} x {self.instance_type} ({per_instance} "
                            f"cop{'y' if per_instance == 1 else 'ies'} per instance at {component.accelerators} accelerator(s) "
                            f"and {component.memory_mib} MiB each); SageMaker would leave the rest unplaced",
                        )
                    )
        degree = self.model.tensor_parallel_degree
        if isinstance(degree, int) and degree > component.accelerators:
            problems.append(
                (
                    ("model", "tensor_parallel_degree"),
                    f"{degree} is more GPUs than one copy gets (inference_component.accelerators {component.accelerators})",
                )
            )
        memory = self.model.memory_gib
        if memory and memory > component.accelerators * spec.memory_per_accelerator_gib:
            problems.append(
                (
                    (*where, "accelerators"),
                    f"model {self.model.name!r} needs {memory:g} GiB of accelerator memory; {component.accelerators} x "
                    f"{spec.accelerator} per copy has {component.accelerators * spec.memory_per_accelerator_gib:g} GiB",
                )
            )
        _raise_if(problems)
        return self

    @property
    def copies_per_instance(self) -> int:
        """How many copies of the component one instance holds (accelerators and host memory)."""
        component, spec = self.inference_component, self.spec
        if component is None:
            return 1
        return max(
            0,
            min(
                spec.accelerator_count // component.accelerators,
                int(spec.host_memory_gib * 1024) // component.memory_mib,
            ),
        )

    def component_name(self, endpoint_name: str) -> str | None:
        """The InferenceComponentName the endpoint serves this variant's model as (None: no component)."""
        if self.inference_component is None:
            return None
        return self.inference_component.name or f"{endpoint_name}-{self.name}"[:63]

    @property
    def spec(self):
        return INSTANCE_CATALOGUE[self.instance_type]

    @property
    def uses_neuron(self) -> bool:
        return self.spec.accelerator in NEURON_ACCELERATORS


class DataCapture(ConfigSection):
    enabled: bool = True
    sampling_percentage: int = Field(default=100, ge=0, le=100)
    capture_days: int = Field(default=30, ge=1, le=3650, description="How long captured payloads are kept")


class Deployment(ConfigSection):
    """Blue/green rollout of endpoint updates, rolled back automatically on the endpoint's alarms."""

    strategy: Literal["all_at_once", "canary", "linear", "rolling", "none"] = Field(
        default="canary",
        description="none: one update without deployment guardrails (no traffic steps, no alarm rollback), for the "
        "deploy that adds, removes or renames a variant: guardrails require the same variant names "
        "(https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-exclusions.html). "
        "rolling: inference components only, component_batch_copies at a time with alarm rollback; "
        "all_at_once on inference components: SageMaker's blue/green of every copy, without alarm rollback",
    )
    # TrafficRoutingConfig (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_TrafficRoutingConfig.html):
    # CanarySize <= 50% of the variant's instance count, LinearStepSize 10-50% of it;
    # WaitIntervalInSeconds 0-3600. BlueGreenUpdatePolicy TerminationWaitInSeconds 0-3600.
    canary_percent: int = Field(default=10, ge=1, le=50)
    linear_step_percent: int = Field(default=25, ge=10, le=50)
    wait_minutes: int = Field(default=10, ge=0, le=60, description="Bake time per step before shifting more traffic")
    termination_wait_minutes: int = Field(
        default=5, ge=0, le=60, description="Old fleet kept after the shift, for rollback"
    )
    component_batch_copies: int = Field(
        default=1,
        ge=1,
        description="Inference components: copies replaced per step of a rolling update (MaximumBatchSize, COPY_COUNT)",
    )

    @property
    def traffic_steps(self) -> int:
        return {"all_at_once": 1, "none": 1, "rolling": 1, "canary": 2, "linear": -(-100 // self.linear_step_percent)}[
            self.strategy
        ]


class AlarmThresholds(ConfigSection):
    model_latency_p95_ms: int = Field(default=20_000, gt=0)
    invocation_5xx_errors: int = Field(default=5, ge=1, description="5XX errors per minute")
    invocation_4xx_error_rate_percent: float = Field(default=5.0, gt=0, le=100)
    gpu_memory_utilization_percent: float = Field(default=95.0, gt=0, le=100)
    evaluation_periods: int = Field(default=3, ge=1, le=60)


class InferenceConfig(ConfigSection):
    endpoint_name: Annotated[str, Field(pattern=_NAME)]
    # ContainerDefinition Image: at most 255 characters
    # (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ContainerDefinition.html).
    image: (
        Annotated[
            str,
            Field(
                max_length=255,
                pattern=r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[\w./-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$",
            ),
        ]
        | None
    ) = Field(default=None, description="Serving image; default: the LMI (DJL) image for lmi_version")
    image_cuda_version: Annotated[str, Field(pattern=r"^\d{2}\.\d$")] | None = Field(
        default=None,
        description="CUDA the custom `image` is built for (e.g. 12.4), when its tag has no cuXYZ; "
        "lets the driver check run for it",
    )
    lmi_version: Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+$")] = DEFAULT_LMI_VERSION
    variants: list[Variant] = Field(min_length=1, max_length=2)
    max_instances_cap: int = Field(
        ge=1,
        description="Most endpoint instances the account's quotas allow at once, an update's second "
        "(blue/green) fleet included: checked against rollout_peak_instances()",
    )
    container_startup_health_check_timeout_seconds: int = Field(default=900, ge=60, le=3600)
    model_data_download_timeout_seconds: int = Field(default=1200, ge=60, le=3600)
    data_capture: DataCapture = DataCapture()
    deployment: Deployment = Deployment()
    alarms: AlarmThresholds = AlarmThresholds()

    @field_validator("lmi_version")
    @classmethod
    def _sdk_knows_version(cls, value: str) -> str:
        # Synth resolves the image with the sagemaker SDK's table; an unknown version fails there.
        try:
            known = serving_image.lmi_versions()
        except serving_image.LmiTableUnavailable as error:
            raise ValueError(f"cannot resolve the LMI image: {error}") from None
        if value not in known:
            path, version, _ = serving_image.lmi_table()
            raise ValueError(
                f"{value!r} is not an LMI version {serving_image.SDK_DISTRIBUTION} {version} can resolve "
                f"(known: {', '.join(known)}; table {path})"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> InferenceConfig:
        names = [variant.name for variant in self.variants]
        if len(set(names)) != len(names):
            raise ValueError(f"variant names must be unique: {names}")
        neuron = [v.name for v in self.variants if v.uses_neuron]
        if neuron and self.image is None:
            raise ValueError(
                f"variant(s) {neuron} use Inferentia/Trainium: set inference.image to the LMI Neuron image "
                "(the default LMI image is for NVIDIA GPUs)"
            )
        problems = [
            *self._hosting_problems(),
            *self._capacity_problems(),
            *self._image_problems(),
            *self._rollout_problems(),
        ]
        if problems:
            raise errors_at("InferenceConfig", problems)
        return self

    # -- what goes on the endpoint ---------------------------------------------------------------

    @property
    def hosts_inference_components(self) -> bool:
        """The endpoint's models are inference components (every variant's; config refuses a mix)."""
        return any(variant.inference_component is not None for variant in self.variants)

    def serving_image_tag(self) -> str | None:
        """The serving image's tag: `image`'s (None if pinned by digest), or the LMI tag of lmi_version."""
        if self.image is not None:
            return serving_image.image_tag(self.image)
        return serving_image.lmi_image_tag(self.lmi_version)

    def image_cuda(self) -> tuple[int, int] | None:
        """The CUDA (major, minor) the serving image is built for; None when neither tag nor config says."""
        tag = self.serving_image_tag()
        from_tag = gpu_drivers.cuda_from_tag(tag) if tag else None
        if from_tag is None and self.image_cuda_version is not None:
            return gpu_drivers.parse_cuda(self.image_cuda_version)
        return from_tag

    def rollout_timeout_seconds(self) -> int:
        """BlueGreenUpdatePolicy.MaximumExecutionTimeoutInSeconds for this config.

        Long enough to provision and load the new fleet (health-check and download timeouts), bake
        every traffic step, wait out the termination wait, plus 30 minutes' margin; the API says the
        timeout "should be larger than the total waiting time". Validation keeps it within 600-28800.
        """
        deployment = self.deployment
        seconds = self.container_startup_health_check_timeout_seconds + self.model_data_download_timeout_seconds
        seconds += self.rollout_steps() * deployment.wait_minutes * 60 + 1800
        if not self.hosts_inference_components:
            seconds += deployment.termination_wait_minutes * 60
        return max(seconds, ROLLOUT_TIMEOUT_RANGE_SECONDS[0])

    def rollout_steps(self) -> int:
        """Steps of an update: traffic shifts of a blue/green one, or batches of copies of a component's
        rolling update (every copy, fully scaled out, in batches of component_batch_copies)."""
        if self.deployment.strategy != "rolling" or not self.hosts_inference_components:
            return self.deployment.traffic_steps
        batch = self.deployment.component_batch_copies
        return max(-(-v.inference_component.max_copies // batch) for v in self.variants)

    # -- checks ------------------------------------------------------------------------------

    def _hosting_problems(self) -> list[tuple[tuple, str]]:
        """An endpoint hosts inference components or models on its variants, never both; component names
        are InferenceComponentNames, unique (CreateInferenceComponent: 1-63 of [a-zA-Z0-9-], no leading or
        trailing hyphen; https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateInferenceComponent.html)."""
        problems = self._component_name_problems()
        with_component = [v.name for v in self.variants if v.inference_component is not None]
        if not with_component or len(with_component) == len(self.variants):
            return problems
        index = next(i for i, v in enumerate(self.variants) if v.inference_component is None)
        return [
            *problems,
            (
                ("variants", index, "inference_component"),
                f"variant(s) {with_component} host inference components and this one its own model: an endpoint "
                "config whose variants carry no model (inference components) cannot also name one on another variant; "
                "give every variant an inference_component, or none",
            ),
        ]

    def _component_name_problems(self) -> list[tuple[tuple, str]]:
        problems: list[tuple[tuple, str]] = []
        seen: dict[str, str] = {}
        for index, variant in enumerate(self.variants):
            name = variant.component_name(self.endpoint_name)
            if name is None:
                continue
            where = ("variants", index, "inference_component", "name")
            given = variant.inference_component.name is not None
            if not re.fullmatch(_NAME, name):
                problems.append(
                    (
                        where,
                        f"the default name {name!r} (<endpoint_name>-<variant>, cut to 63) is not an "
                        "InferenceComponentName: set inference_component.name",
                    )
                )
            elif name in seen:
                problems.append(
                    (
                        where,
                        f"{name!r} is also variant {seen[name]!r}'s component"
                        + ("" if given else " (defaults cut to 63 characters): set inference_component.name"),
                    )
                )
            seen.setdefault(name, variant.name)
        return problems

    def _capacity_problems(self) -> list[tuple[tuple, str]]:
        # "SageMaker AI provisions a new fleet with the updates (the green fleet) ... terminates the blue
        # fleet" once it has baked (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green.html):
        # the account's endpoint-instance quotas must hold both fleets.
        peak = self.rollout_peak_instances()
        total = sum(peak.values())
        if total <= self.max_instances_cap:
            return []
        by_type = ", ".join(f"{count} x {instance_type}" for instance_type, count in peak.items())
        return [
            (
                ("max_instances_cap",),
                (
                    (
                        "an inference component's rolling update starts each batch of new copies before it stops old "
                        f"ones, so fully scaled out the variants hold {total} instances during an update ({by_type}: "
                        "autoscaling.max_instances plus one batch of deployment.component_batch_copies)"
                        if self.hosts_inference_components and self.deployment.strategy == "rolling"
                        else "an endpoint update is blue/green: SageMaker provisions a second fleet at the current capacity "
                        f"before shifting traffic, so fully scaled out the variants hold {total} instances during an update "
                        f"({by_type}: twice autoscaling.max_instances)"
                    )
                    + f", above max_instances_cap ({self.max_instances_cap}). "
                    f"Raise max_instances_cap to {total} (and the account's SageMaker endpoint-instance quotas for these "
                    "types to match), or lower max_instances"
                ),
            )
        ]

    def _image_problems(self) -> list[tuple[tuple, str]]:
        tag = self.serving_image_tag()
        problems = self._cuda_declaration_problems(tag)
        cuda = self.image_cuda()
        image = f"image tag {tag}" if self.image is not None else f"LMI {self.lmi_version} image tag {tag}"
        need = gpu_drivers.minimum_driver(cuda) if cuda else None
        if cuda and need is None:
            field = "image_cuda_version" if self.image_cuda_version else ("image" if self.image else "lmi_version")
            problems.append(
                (
                    (field,),
                    (
                        f"{image} is CUDA {gpu_drivers.format_cuda(cuda)}, a major release kit_config/gpu_drivers.py has no "
                        "minimum NVIDIA driver for; add it there (NVIDIA's minor version compatibility table)"
                    ),
                )
            )
        problems += self._variant_driver_problems(image, cuda, need)
        return problems

    def _cuda_declaration_problems(self, tag: str | None) -> list[tuple[tuple, str]]:
        """image_cuda_version: only for a custom image, and not contradicting the image's tag."""
        problems: list[tuple[tuple, str]] = []
        tag_cuda = gpu_drivers.cuda_from_tag(tag) if tag else None
        if self.image_cuda_version is not None:
            if self.image is None:
                problems.append(
                    (
                        ("image_cuda_version",),
                        (
                            f"only for a custom inference.image; the LMI {self.lmi_version} image's CUDA comes from its tag {tag}"
                        ),
                    )
                )
            elif tag_cuda is not None and gpu_drivers.format_cuda(tag_cuda) != self.image_cuda_version:
                problems.append(
                    (
                        ("image_cuda_version",),
                        (
                            f"{self.image_cuda_version} contradicts the image tag {tag}, which says CUDA {gpu_drivers.format_cuda(tag_cuda)}"
                        ),
                    )
                )
        return problems

    def _variant_driver_problems(self, image: str, cuda, need) -> list[tuple[tuple, str]]:
        """Each variant's AMI fits its accelerator, and its NVIDIA driver runs the image's CUDA."""
        problems: list[tuple[tuple, str]] = []
        for index, variant in enumerate(self.variants):
            where = ("variants", index, "inference_ami_version")
            ami = gpu_drivers.INFERENCE_AMIS[variant.inference_ami_version] if variant.inference_ami_version else None
            if variant.uses_neuron:
                if ami and ami.accelerator != "neuron":
                    problems.append(
                        (
                            where,
                            f"{variant.inference_ami_version} is an NVIDIA GPU AMI; {variant.instance_type} "
                            "is Inferentia/Trainium: use al2-ami-sagemaker-inference-neuron-2 or leave it unset",
                        )
                    )
                continue
            if ami and ami.accelerator != "gpu":
                problems.append(
                    (where, f"{variant.inference_ami_version} is a Neuron AMI; {variant.instance_type} has NVIDIA GPUs")
                )
                continue
            if need is None:
                continue  # the image's CUDA is unknown: nothing to check (docs/config-checks.md)
            problem = _driver_problem(variant, image, cuda, need, ami)
            if problem:
                problems.append((where, problem))
        return problems

    def _rollout_problems(self) -> list[tuple[tuple, str]]:
        problems: list[tuple[tuple, str]] = []
        deployment = self.deployment
        if self.hosts_inference_components:
            problems += self._component_rollout_problems()
        elif deployment.strategy == "rolling":
            problems.append(
                (
                    ("deployment", "strategy"),
                    "rolling is the kit's update of inference components, copy by copy; these variants serve their "
                    "own model: use canary, linear or all_at_once (blue/green with alarm rollback)",
                )
            )
        elif deployment.strategy in ("canary", "linear"):
            # TrafficRoutingConfig: CanarySize <= 50%, LinearStepSize 10-50% of the variant's instance
            # count (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_TrafficRoutingConfig.html).
            # How a percentage rounds to instances is undocumented; one instance is never <= 50% of one.
            step = (
                "CanarySize must be at most 50%" if deployment.strategy == "canary" else "LinearStepSize must be 10-50%"
            )
            for variant in self.variants:
                smallest = variant.autoscaling.smallest_instance_count
                if smallest < 2:
                    problems.append(
                        (
                            ("deployment", "strategy"),
                            (
                                f"{deployment.strategy} shifts traffic in steps, and SageMaker's {step} of a variant's "
                                f"instance count; variant {variant.name!r} can be at {smallest} instance (autoscaling "
                                "min_instances or a scheduled action's), where the smallest step, one instance, is the whole "
                                "fleet, so the update fails. Use strategy all_at_once (still blue/green with alarm rollback) "
                                "or keep at least 2 instances"
                            ),
                        )
                    )
        high = ROLLOUT_TIMEOUT_RANGE_SECONDS[1]
        needed = self.rollout_timeout_seconds()
        if needed > high:
            problems.append(
                (
                    ("deployment",),
                    (
                        f"the rollout needs a {needed} s timeout ({self.rollout_steps()} "
                        f"{'batch(es) of copies' if deployment.strategy == 'rolling' else 'traffic step(s)'} x "
                        f"{deployment.wait_minutes} min bake, {deployment.termination_wait_minutes} min termination wait, "
                        "the health-check and download timeouts and 30 min margin); SageMaker's "
                        f"MaximumExecutionTimeoutInSeconds allows at most {high}: shorten wait_minutes or use fewer steps"
                    ),
                )
            )
        return problems

    def _component_rollout_problems(self) -> list[tuple[tuple, str]]:
        deployment = self.deployment
        where = ("deployment", "strategy")
        if deployment.strategy in ("canary", "linear"):
            return [
                (
                    where,
                    f"{deployment.strategy} is the endpoint's blue/green traffic shifting, for variants that serve their "
                    "own model; inference components update with strategy rolling (copy by copy, alarm rollback) or "
                    "all_at_once (SageMaker's blue/green of every copy)",
                )
            ]
        if deployment.strategy != "rolling":
            return []
        # InferenceComponentRollingUpdatePolicy MaximumBatchSize: "The value must be between 5% to 50% of the
        # copy count of the inference component"
        # (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_InferenceComponentRollingUpdatePolicy.html).
        batch = deployment.component_batch_copies
        problems: list[tuple[tuple, str]] = []
        for variant in self.variants:
            component = variant.inference_component
            if component.min_copies < 2 * batch:
                problems.append(
                    (
                        where,
                        f"a rolling update's batch ({batch} cop{'y' if batch == 1 else 'ies'}) must be at most 50% of the "
                        f"component's copy count, and variant {variant.name!r} can be at {component.min_copies} "
                        f"(min_copies{', scale to zero' if component.scales_to_zero else ''}): SageMaker would refuse the "
                        f"update. Keep min_copies >= {2 * batch}, or use all_at_once (blue/green of every copy, no alarm rollback)",
                    )
                )
            elif batch * 20 < component.max_copies:
                problems.append(
                    (
                        ("deployment", "component_batch_copies"),
                        f"{batch} is below 5% of variant {variant.name!r}'s max_copies ({component.max_copies}); "
                        f"SageMaker needs a batch of 5-50% of the copy count: use at least {-(-component.max_copies // 20)}",
                    )
                )
        return problems

    def rollout_peak_instances(self) -> dict[str, int]:
        """Instances per instance type at the peak of an endpoint update, fully scaled out.

        Every kit rollout (all_at_once, canary, linear) is a SageMaker blue/green deployment: the
        green fleet is provisioned at the blue fleet's capacity before traffic shifts, so an update
        holds twice the variants' instances until the termination wait ends ("Blue/Green
        Deployments", SageMaker developer guide). Quota checks and the cost envelope use this.
        """
        peak: dict[str, int] = {}
        for variant in self.variants:
            peak[variant.instance_type] = peak.get(variant.instance_type, 0) + self._variant_update_peak(variant)
        return peak

    def _variant_update_peak(self, variant: Variant) -> int:
        """A variant's instances at the peak of an update: twice its maximum under blue/green (of a variant's
        fleet, or of a component's copies); under an inference component's rolling update, its maximum plus
        room for one batch of new copies (each batch starts before the old copies stop)."""
        scaling = variant.autoscaling
        if variant.inference_component is None or self.deployment.strategy != "rolling":
            return 2 * scaling.max_instances
        batch = min(self.deployment.component_batch_copies, variant.inference_component.max_copies)
        return scaling.max_instances + -(-batch // max(variant.copies_per_instance, 1))


def _raise_if(problems: list[tuple[tuple, str]]) -> None:
    if problems:
        raise errors_at("Variant", problems)


def _driver_problem(
    variant: Variant, image: str, cuda: tuple[int, int], need: int, ami: gpu_drivers.HostAmi | None
) -> str | None:
    """Why `variant`'s host driver cannot start an image built for `cuda`, or None if it can."""
    family = gpu_drivers.instance_family(variant.instance_type)
    default = gpu_drivers.default_driver(variant.instance_type)
    if ami is not None:
        if ami.nvidia_driver is not None and ami.nvidia_driver >= need:
            return None
        host = f"{variant.inference_ami_version} has driver {ami.nvidia_driver}, so the container would not start (CannotStartContainerError)"
    elif default is not None and default >= need:
        return None
    elif default is not None:
        host = (
            f"ml.{family}.* runs driver {gpu_drivers.describe_driver(default)} by default, so the container "
            "would not start (CannotStartContainerError)"
        )
    else:
        host = (
            f"SageMaker's GPU driver table lists no default driver for ml.{family}.*, so the kit cannot tell "
            "whether the container starts"
        )
    fixes = gpu_drivers.gpu_amis_with_driver(need)
    fix = (
        "set inference_ami_version to "
        + " or ".join(f"{name} (driver {gpu_drivers.INFERENCE_AMIS[name].nvidia_driver})" for name in fixes)
        if fixes
        else f"no InferenceAmiVersion the kit knows has driver >= {need}"
    )
    return (
        f"variant {variant.name!r} on {variant.instance_type}: {image} is CUDA {gpu_drivers.format_cuda(cuda)}, "
        f"which needs NVIDIA driver >= {need}; {host}. Fix: {fix}"
    )
