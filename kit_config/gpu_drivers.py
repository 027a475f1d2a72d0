"""Which NVIDIA driver a SageMaker real-time endpoint's host runs, and which driver an image needs.

A serving image built for a newer CUDA than the host's driver supports does not start: the
endpoint fails with `CannotStartContainerError` ("GPU drivers for inference", SageMaker developer
guide, https://docs.aws.amazon.com/sagemaker/latest/dg/inference-gpu-drivers.html). The host's
driver is the instance family's default unless the production variant names an
`InferenceAmiVersion`. The facts are kept here as data, each with its source; `InferenceConfig`
checks every variant against them at config load.

Forward compatibility (NVIDIA's `cuda-compat` package, data-centre GPUs only) can run a newer
CUDA on an older driver, but only when the container itself puts the compat libraries on the
library path: SageMaker's `-1` AMIs ship the NVIDIA Container Toolkit "with disabled CUDA-compat
mounting", and toolkit 1.17.4+ no longer mounts them at all ("Updating inference containers to
comply with the NVIDIA Container Toolkit",
https://docs.aws.amazon.com/sagemaker/latest/dg/container-nvidia-compliance.html). Whether an
LMI image's entrypoint does that is not documented, so the kit does not count on it: it requires
a host driver that supports the image's CUDA major release natively.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args

# ProductionVariant.InferenceAmiVersion: the allowed values and what each AMI carries
# (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariant.html; the same
# text is in botocore's sagemaker service model, which tests/kit_config compare this table with).
InferenceAmiVersion = Literal[
    "al2-ami-sagemaker-inference-gpu-2",
    "al2-ami-sagemaker-inference-gpu-2-1",
    "al2-ami-sagemaker-inference-gpu-3-1",
    "al2023-ami-sagemaker-inference-gpu-4-1",
    "al2-ami-sagemaker-inference-neuron-2",
]


@dataclass(frozen=True)
class HostAmi:
    accelerator: Literal["gpu", "neuron"]
    nvidia_driver: int | None  # driver branch; None on Neuron AMIs
    cuda: str | None
    cuda_compat_mounting: bool  # False: "NVIDIA Container Toolkit with disabled CUDA-compat mounting"


INFERENCE_AMIS: dict[str, HostAmi] = {
    "al2-ami-sagemaker-inference-gpu-2": HostAmi("gpu", 535, "12.2", cuda_compat_mounting=True),
    "al2-ami-sagemaker-inference-gpu-2-1": HostAmi("gpu", 535, "12.2", cuda_compat_mounting=False),
    "al2-ami-sagemaker-inference-gpu-3-1": HostAmi("gpu", 550, "12.4", cuda_compat_mounting=False),
    "al2023-ami-sagemaker-inference-gpu-4-1": HostAmi("gpu", 580, "13.0", cuda_compat_mounting=False),
    "al2-ami-sagemaker-inference-neuron-2": HostAmi("neuron", None, None, cuda_compat_mounting=False),
}
assert set(INFERENCE_AMIS) == set(get_args(InferenceAmiVersion))

# Real-time inference: the driver an instance family runs when no InferenceAmiVersion is set
# ("GPU drivers for inference", table "Current versions and supported instance families"):
# 470 / CUDA 11.4 for p2, p3, p4d, p4de, g4dn, g5; 535 / CUDA 12.2 for p5, g6; 550 / CUDA 12.4
# for p5e, p5en. The page lists no default for g6e, so for ml.g6e.* the kit knows of none and
# asks for an explicit AMI whenever an image's CUDA is known.
DEFAULT_DRIVER_BY_FAMILY: dict[str, int] = {
    "p2": 470,
    "p3": 470,
    "p4d": 470,
    "p4de": 470,
    "g4dn": 470,
    "g5": 470,
    "p5": 535,
    "g6": 535,
    "p5e": 550,
    "p5en": 550,
}
DRIVER_CUDA = {470: "11.4", 535: "12.2", 550: "12.4", 580: "13.0"}

# The oldest driver that runs any toolkit of a CUDA major release (minor version compatibility,
# CUDA 11 onwards): https://docs.nvidia.com/deploy/cuda-compatibility/minor-version-compatibility.html
# ("CUDA 13.x >= 580, CUDA 12.x >= 525, CUDA 11.x >= 450").
MINIMUM_DRIVER_BY_CUDA_MAJOR: dict[int, int] = {11: 450, 12: 525, 13: 580}

# Image tags name their CUDA as cu<major><minor>: DLC/LMI tags such as 0.38.0-lmi29.0.0-cu130
# (CUDA 13.0), 0.35.0-lmi17.0.0-cu128 (12.8), 0.31.0-lmi13.0.0-cu124 (12.4).
_CUDA_TAG = re.compile(r"(?:^|[-_.])cu(\d{2})(\d)(?:$|[-_.])")


def cuda_from_tag(tag: str) -> tuple[int, int] | None:
    """(major, minor) from a `cuXYZ` token in an image tag; None when the tag names no CUDA."""
    found = _CUDA_TAG.search(tag)
    return (int(found[1]), int(found[2])) if found else None


def format_cuda(cuda: tuple[int, int]) -> str:
    return f"{cuda[0]}.{cuda[1]}"


def parse_cuda(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


def minimum_driver(cuda: tuple[int, int]) -> int | None:
    """The oldest NVIDIA driver branch that runs `cuda` without forward compatibility; None if unknown."""
    return MINIMUM_DRIVER_BY_CUDA_MAJOR.get(cuda[0])


def instance_family(instance_type: str) -> str:
    """`ml.g6e.2xlarge` -> `g6e`."""
    parts = instance_type.split(".")
    return parts[1] if len(parts) == 3 else instance_type


def default_driver(instance_type: str) -> int | None:
    return DEFAULT_DRIVER_BY_FAMILY.get(instance_family(instance_type))


def gpu_amis_with_driver(at_least: int) -> list[str]:
    """GPU AMI versions whose driver is `at_least` or newer, oldest driver first (the `-1` builds
    first: they follow the current NVIDIA Container Toolkit behaviour SageMaker recommends)."""
    matching = [
        name
        for name, ami in INFERENCE_AMIS.items()
        if ami.accelerator == "gpu" and ami.nvidia_driver is not None and ami.nvidia_driver >= at_least
    ]
    return sorted(
        matching, key=lambda name: (INFERENCE_AMIS[name].nvidia_driver, INFERENCE_AMIS[name].cuda_compat_mounting)
    )


def describe_driver(driver: int) -> str:
    cuda = DRIVER_CUDA.get(driver)
    return f"{driver} (CUDA {cuda})" if cuda else str(driver)
