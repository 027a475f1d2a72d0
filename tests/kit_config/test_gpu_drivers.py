"""The serving image's CUDA against each variant's host driver: the endpoint would not start otherwise."""

from __future__ import annotations

import re
from functools import partial

import botocore.session
import pytest

from kit_config import load_environment
from kit_config.gpu_drivers import INFERENCE_AMIS, cuda_from_tag, gpu_amis_with_driver, minimum_driver
from kit_config.serving_image import lmi_image_tag, lmi_table
from tests.kit_config.conftest import assert_rejected
from tests.kit_config.conftest import edit as edit_env

edit = partial(edit_env, section="inference")
AMI_4_1 = "al2023-ami-sagemaker-inference-gpu-4-1"


def variant(section: dict, index: int = 0) -> dict:
    return section["variants"][index]


def test_ami_table_matches_the_sagemaker_api_model():
    """Every InferenceAmiVersion botocore's service model allows, with the driver and CUDA it documents."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    assert set(model.shape_for("ProductionVariantInferenceAmiVersion").enum) == set(INFERENCE_AMIS)
    text = re.sub(r"<[^>]+>", " ", model.shape_for("ProductionVariant").members["InferenceAmiVersion"].documentation)
    for name, ami in INFERENCE_AMIS.items():
        block = text[text.index(name) :]
        block = block[
            : min((block.find(other, 1) for other in INFERENCE_AMIS if block.find(other, 1) > 0), default=len(block))
        ]
        if ami.accelerator == "gpu":
            assert re.search(rf"NVIDIA driver version:\s*{ami.nvidia_driver}\b", block), name
            assert re.search(rf"CUDA version:\s*{re.escape(ami.cuda)}\b", block), name
        assert ("disabled CUDA-compat mounting" in block) == (
            not ami.cuda_compat_mounting and ami.accelerator == "gpu"
        ), name


@pytest.mark.parametrize(
    "tag, cuda",
    [
        ("0.38.0-lmi29.0.0-cu130", (13, 0)),
        ("0.35.0-lmi17.0.0-cu128", (12, 8)),
        ("0.31.0-lmi13.0.0-cu124", (12, 4)),
        ("2.1.0-gpu-py310-cu118-ubuntu20.04-sagemaker", (11, 8)),
        ("0.29.0-neuronx-sdk2.19.1", None),
        ("latest", None),
        ("custom-cuda", None),
    ],
)
def test_cuda_version_is_read_from_the_image_tag(tag, cuda):
    assert cuda_from_tag(tag) == cuda


def test_default_lmi_tag_is_the_one_the_sdk_resolves():
    from sagemaker.core import image_uris  # the call synth makes (kit_constructs.inference_endpoint.lmi_image_uri)

    for version in ("0.38.0", "0.31.0"):
        uri = image_uris.retrieve(framework="djl-lmi", region="us-east-1", version=version)
        assert uri == f"763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:{lmi_image_tag(version)}"
    assert lmi_table()[1] == "2.27.0"  # the pinned sagemaker-core whose table carries 0.38.0
    assert cuda_from_tag(lmi_image_tag("0.38.0")) == (13, 0) and minimum_driver((13, 0)) == 580


def test_only_the_580_driver_ami_runs_cuda_13():
    assert gpu_amis_with_driver(580) == [AMI_4_1]
    assert gpu_amis_with_driver(525)[0] == "al2-ami-sagemaker-inference-gpu-2-1"  # -1 (current toolkit) first


def test_shipped_environments_name_the_580_driver_ami():
    for env in ("dev", "staging", "prod"):
        assert {v.inference_ami_version for v in load_environment(env).inference.variants} == {AMI_4_1}, env


def test_family_default_driver_too_old_for_the_lmi_image(config_dir):
    edit(config_dir, "dev", lambda s: variant(s).pop("inference_ami_version"))
    assert_rejected(
        config_dir,
        "dev",
        "inference.variants[0].inference_ami_version",
        "variant 'primary' on ml.g6.xlarge: LMI 0.38.0 image tag 0.38.0-lmi29.0.0-cu130 is CUDA 13.0, which needs "
        "NVIDIA driver >= 580; ml.g6.* runs driver 535 (CUDA 12.2) by default, so the container would not start "
        "(CannotStartContainerError). Fix: set inference_ami_version to al2023-ami-sagemaker-inference-gpu-4-1 (driver 580)",
    )


def test_named_ami_with_an_older_driver(config_dir):
    edit(
        config_dir,
        "staging",
        lambda s: variant(s, 1).update(inference_ami_version="al2-ami-sagemaker-inference-gpu-3-1"),
    )
    assert_rejected(
        config_dir,
        "staging",
        "inference.variants[1].inference_ami_version",
        "variant 'challenger' on ml.g5.2xlarge: LMI 0.38.0 image tag 0.38.0-lmi29.0.0-cu130 is CUDA 13.0, "
        "which needs NVIDIA driver >= 580; al2-ami-sagemaker-inference-gpu-3-1 has driver 550",
    )


def test_family_without_a_documented_default_needs_an_ami(config_dir):
    edit(config_dir, "prod", lambda s: variant(s).pop("inference_ami_version"))
    assert_rejected(
        config_dir,
        "prod",
        "inference.variants[0].inference_ami_version",
        "SageMaker's GPU driver table lists no default driver for ml.g6e.*, so the kit cannot tell whether the container starts",
    )


def test_a_cuda_12_image_runs_on_the_535_default_but_not_on_470(config_dir):
    """LMI 0.31.0 is cu124: CUDA 12.x needs >= 525 (minor version compatibility)."""

    def cuda_12_without_ami(section):
        section["lmi_version"] = "0.31.0"
        for v in section["variants"]:
            v.pop("inference_ami_version")

    edit(config_dir, "dev", cuda_12_without_ami)
    assert load_environment("dev", config_dir).inference.variants[0].inference_ami_version is None  # g6: 535
    edit(config_dir, "staging", cuda_12_without_ami)
    assert_rejected(
        config_dir,
        "staging",
        "inference.variants[0].inference_ami_version",
        "ml.g5.* runs driver 470 (CUDA 11.4) by default, so the container would not start (CannotStartContainerError). "
        "Fix: set inference_ami_version to al2-ami-sagemaker-inference-gpu-2-1 (driver 535) or "
        "al2-ami-sagemaker-inference-gpu-2 (driver 535) or al2-ami-sagemaker-inference-gpu-3-1 (driver 550) or "
        "al2023-ami-sagemaker-inference-gpu-4-1 (driver 580)",
    )


def test_custom_image_without_cuda_in_its_tag_is_not_checked_unless_told(config_dir):
    image = "111111111111.dkr.ecr.us-east-1.amazonaws.com/my-llm-server:2026-11-01"

    def custom(cuda=None):
        def change(section):
            section["image"] = image
            variant(section).pop("inference_ami_version", None)
            if cuda:
                section["image_cuda_version"] = cuda

        return change

    edit(config_dir, "dev", custom())
    loaded = load_environment("dev", config_dir).inference
    assert loaded.image_cuda() is None and loaded.variants[0].inference_ami_version is None
    edit(config_dir, "dev", custom("13.0"))
    assert_rejected(
        config_dir,
        "dev",
        "inference.variants[0].inference_ami_version",
        "image tag 2026-11-01 is CUDA 13.0, which needs NVIDIA driver >= 580; ml.g6.* runs driver 535",
    )


def test_image_cuda_version_must_agree_with_the_tag_and_needs_an_image(config_dir):
    edit(config_dir, "dev", lambda s: s.update(image_cuda_version="12.4"))
    assert_rejected(
        config_dir,
        "dev",
        "inference.image_cuda_version",
        "only for a custom inference.image; the LMI 0.38.0 image's CUDA comes from its tag 0.38.0-lmi29.0.0-cu130",
    )
    edit(config_dir, "dev", lambda s: s.update(image="111111111111.dkr.ecr.us-east-1.amazonaws.com/llm:1.0-cu130"))
    assert_rejected(
        config_dir,
        "dev",
        "inference.image_cuda_version",
        "12.4 contradicts the image tag 1.0-cu130, which says CUDA 13.0",
    )


def test_ami_accelerator_must_match_the_instance(config_dir):
    edit(config_dir, "dev", lambda s: variant(s).update(inference_ami_version="al2-ami-sagemaker-inference-neuron-2"))
    assert_rejected(
        config_dir,
        "dev",
        "inference.variants[0].inference_ami_version",
        "is a Neuron AMI; ml.g6.xlarge has NVIDIA GPUs",
    )

    def on_inferentia(ami):
        def change(section):
            section["image"] = "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.29.0-neuronx-sdk2.19.1"
            variant(section).update(instance_type="ml.inf2.xlarge", volume_size_gb=64, inference_ami_version=ami)

        return change

    edit(config_dir, "dev", on_inferentia("al2-ami-sagemaker-inference-neuron-2"))
    assert load_environment("dev", config_dir).inference.variants[0].uses_neuron
    edit(config_dir, "dev", on_inferentia(AMI_4_1))
    assert_rejected(
        config_dir,
        "dev",
        "inference.variants[0].inference_ami_version",
        "is an NVIDIA GPU AMI; ml.inf2.xlarge is Inferentia/Trainium",
    )


def test_unknown_ami_version_is_rejected(config_dir):
    edit(config_dir, "dev", lambda s: variant(s).update(inference_ami_version="al2-ami-sagemaker-inference-gpu-9"))
    assert_rejected(
        config_dir, "dev", "inference.variants[0].inference_ami_version", "al2023-ami-sagemaker-inference-gpu-4-1"
    )


def test_lmi_version_the_sdk_cannot_resolve(config_dir):
    edit(config_dir, "dev", lambda s: s.update(lmi_version="0.99.0"))
    assert_rejected(
        config_dir,
        "dev",
        "inference.lmi_version",
        "'0.99.0' is not an LMI version sagemaker-core 2.27.0 can resolve (known: 0.38.0, 0.36.0",
    )


def test_image_from_another_region(config_dir):
    edit(
        config_dir,
        "prod",
        lambda s: s.update(image="763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.38.0-lmi29.0.0-cu130"),
    )
    assert_rejected(
        config_dir,
        "prod",
        "inference.image",
        "the image is in us-east-1's registry; SageMaker pulls the serving image only from the endpoint's region (us-west-2)",
    )
    edit(
        config_dir,
        "prod",
        lambda s: s.update(image="763104351884.dkr.ecr.us-west-2.amazonaws.com/djl-inference:0.38.0-lmi29.0.0-cu130"),
    )
    assert load_environment("prod", config_dir).inference.image_cuda() == (13, 0)


def test_a_cuda_major_without_a_known_driver_is_named(config_dir):
    edit(config_dir, "dev", lambda s: s.update(image="111111111111.dkr.ecr.us-east-1.amazonaws.com/llm:1.0-cu140"))
    assert_rejected(
        config_dir,
        "dev",
        "inference.image",
        "image tag 1.0-cu140 is CUDA 14.0, a major release kit_config/gpu_drivers.py has no minimum NVIDIA driver for",
    )
