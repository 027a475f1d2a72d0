"""GPU / accelerator instance types the kit allows for SageMaker real-time endpoints.

Per instance: accelerator, count, memory per accelerator (GiB) and on-demand $/hour for
SageMaker AI real-time inference by region.

Source: the AWS "Amazon SageMaker AI pricing" page, On-Demand Pricing → Real-Time Inference,
transcribed for us-east-1, us-west-2 and eu-west-1 (prices as listed in October 2025; AWS
changes them — check the page or the AWS Price List API before budgeting). Accelerator counts
and memory agree with the sagemaker SDK's `instance_gpu_info.json` wherever that table has the
instance (a test checks this). Inferentia2/Trainium "memory" is accelerator HBM (32 GiB/chip).
Every GPU and Trainium type here has NVMe instance storage; Inferentia2 is EBS-only (SageMaker
"Instance store volumes" documentation).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

PRICE_SOURCE = "AWS SageMaker AI pricing page, real-time inference on-demand, as listed October 2025"
HOURS_PER_MONTH = 730


@dataclass(frozen=True)
class InstanceSpec:
    accelerator: str
    accelerator_count: int
    memory_per_accelerator_gib: float
    hourly_usd: dict[str, float]  # region -> on-demand $/hour
    # NVMe instance store: hardware-encrypted, and SageMaker rejects KmsKeyId and
    # VolumeSizeInGB for endpoint configs that use such an instance type.
    local_nvme_storage: bool = True
    host_memory_gib: float = 0.0  # the instance's RAM: what an inference component's MinMemoryRequiredInMb draws on

    @property
    def accelerator_memory_gib(self) -> float:
        return self.accelerator_count * self.memory_per_accelerator_gib

    def monthly_usd(self, region: str, instances: int) -> float | None:
        hourly = self.hourly_usd.get(region)
        return None if hourly is None else round(hourly * HOURS_PER_MONTH * instances, 2)


def _spec(
    accelerator: str, count: int, memory: float, us_east_1: float, eu_west_1: float, nvme: bool = True
) -> InstanceSpec:
    # us-west-2 lists the same real-time inference prices as us-east-1 for these families.
    prices = {"us-east-1": us_east_1, "us-west-2": us_east_1, "eu-west-1": eu_west_1}
    return InstanceSpec(accelerator, count, memory, prices, local_nvme_storage=nvme)


INSTANCE_CATALOGUE: dict[str, InstanceSpec] = {
    # NVIDIA A10G, 24 GiB
    "ml.g5.xlarge": _spec("A10G", 1, 24, 1.408, 1.582),
    "ml.g5.2xlarge": _spec("A10G", 1, 24, 1.515, 1.702),
    "ml.g5.4xlarge": _spec("A10G", 1, 24, 2.030, 2.281),
    "ml.g5.8xlarge": _spec("A10G", 1, 24, 3.060, 3.438),
    "ml.g5.12xlarge": _spec("A10G", 4, 24, 7.090, 7.966),
    "ml.g5.16xlarge": _spec("A10G", 1, 24, 5.120, 5.753),
    "ml.g5.24xlarge": _spec("A10G", 4, 24, 10.180, 11.438),
    "ml.g5.48xlarge": _spec("A10G", 8, 24, 20.360, 22.876),
    # NVIDIA L4, 24 GiB
    "ml.g6.xlarge": _spec("L4", 1, 24, 1.010, 1.135),
    "ml.g6.2xlarge": _spec("L4", 1, 24, 1.222, 1.373),
    "ml.g6.4xlarge": _spec("L4", 1, 24, 1.646, 1.849),
    "ml.g6.12xlarge": _spec("L4", 4, 24, 5.752, 6.463),
    "ml.g6.48xlarge": _spec("L4", 8, 24, 16.485, 18.522),
    # NVIDIA L40S, 48 GiB
    "ml.g6e.xlarge": _spec("L40S", 1, 48, 2.336, 2.625),
    "ml.g6e.2xlarge": _spec("L40S", 1, 48, 2.820, 3.169),
    "ml.g6e.12xlarge": _spec("L40S", 4, 48, 13.124, 14.746),
    "ml.g6e.48xlarge": _spec("L40S", 8, 48, 37.654, 42.308),
    # NVIDIA A100 40 GiB / 80 GiB
    "ml.p4d.24xlarge": _spec("A100", 8, 40, 37.688, 42.346),
    "ml.p4de.24xlarge": _spec("A100-80GB", 8, 80, 47.110, 52.933),
    # NVIDIA H100 80 GiB / H200 141 GiB
    "ml.p5.48xlarge": _spec("H100", 8, 80, 113.070, 127.043),
    "ml.p5e.48xlarge": _spec("H200", 8, 141, 124.380, 139.754),
    # AWS Inferentia2 / Trainium, 32 GiB HBM per chip
    "ml.inf2.xlarge": _spec("Inferentia2", 1, 32, 0.990, 1.112, nvme=False),
    "ml.inf2.8xlarge": _spec("Inferentia2", 1, 32, 2.360, 2.652, nvme=False),
    "ml.inf2.24xlarge": _spec("Inferentia2", 6, 32, 8.980, 10.090, nvme=False),
    "ml.inf2.48xlarge": _spec("Inferentia2", 12, 32, 17.960, 20.180, nvme=False),
    "ml.trn1.2xlarge": _spec("Trainium", 1, 32, 1.544, 1.735),
    "ml.trn1.32xlarge": _spec("Trainium", 16, 32, 24.725, 27.781),
}

# Host memory (GiB) per instance type: the "Memory (GiB)" column of the "Amazon EC2 instance types:
# accelerated computing" specifications (https://docs.aws.amazon.com/ec2/latest/instancetypes/ac.html);
# SageMaker's ml.* types are the EC2 types of the same name.
_HOST_MEMORY_GIB = {
    "g5.xlarge": 16, "g5.2xlarge": 32, "g5.4xlarge": 64, "g5.8xlarge": 128, "g5.12xlarge": 192,
    "g5.16xlarge": 256, "g5.24xlarge": 384, "g5.48xlarge": 768,
    "g6.xlarge": 16, "g6.2xlarge": 32, "g6.4xlarge": 64, "g6.12xlarge": 192, "g6.48xlarge": 768,
    "g6e.xlarge": 32, "g6e.2xlarge": 64, "g6e.12xlarge": 384, "g6e.48xlarge": 1536,
    "p4d.24xlarge": 1152, "p4de.24xlarge": 1152, "p5.48xlarge": 2048, "p5e.48xlarge": 2048,
    "inf2.xlarge": 16, "inf2.8xlarge": 128, "inf2.24xlarge": 384, "inf2.48xlarge": 768,
    "trn1.2xlarge": 32, "trn1.32xlarge": 512,
}  # fmt: skip
INSTANCE_CATALOGUE = {
    name: replace(spec, host_memory_gib=_HOST_MEMORY_GIB[name.removeprefix("ml.")])
    for name, spec in INSTANCE_CATALOGUE.items()
}

NEURON_ACCELERATORS = {"Inferentia2", "Trainium"}
