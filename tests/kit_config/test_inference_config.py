"""The `inference:` section: accelerator-only instances that fit the model, sane scaling, valid capture."""

from __future__ import annotations

import json
from functools import partial

import pytest

from kit_config import ConfigError, load_environment
from kit_config.instance_catalogue import INSTANCE_CATALOGUE
from kit_config.serving_image import lmi_table
from tests.kit_config.conftest import assert_rejected
from tests.kit_config.conftest import edit as edit_env

edit = partial(edit_env, section="inference")


def variant(section: dict, index: int = 0) -> dict:
    return section["variants"][index]


BAD_INPUTS = {
    "unknown instance type": (
        lambda s: variant(s).update(instance_type="ml.x9.huge"),
        "inference.variants[0].instance_type",
        "not an instance type the kit knows",
    ),
    "CPU instance type": (
        lambda s: variant(s).update(instance_type="ml.m5.xlarge"),
        "inference.variants[0].instance_type",
        "a CPU instance type",
    ),
    "min above max": (
        lambda s: variant(s)["autoscaling"].update(min_instances=3, max_instances=2),
        "inference.variants[0].autoscaling",
        "min_instances (3) is greater than max_instances (2)",
    ),
    "target not positive": (
        lambda s: variant(s)["autoscaling"].update(target_value=0),
        "inference.variants[0].autoscaling.target_value",
        "greater than 0",
    ),
    "max above env cap": (
        lambda s: variant(s)["autoscaling"].update(max_instances=5),
        "inference.max_instances_cap",
        "hold 10 instances during an update (10 x ml.g6.xlarge",
    ),
    "cap without the rollout fleet": (
        lambda s: s.update(max_instances_cap=2),
        "inference.max_instances_cap",
        "above max_instances_cap (2). Raise max_instances_cap to 4",
    ),
    "tensor parallel over the GPU count": (
        lambda s: variant(s)["model"].update(tensor_parallel_degree=2),
        "inference.variants[0].model.tensor_parallel_degree",
        "2 is more GPUs than ml.g6.xlarge has (1 x L4)",
    ),
    "tensor parallel zero": (
        lambda s: variant(s)["model"].update(tensor_parallel_degree=0),
        "inference.variants[0].model.tensor_parallel_degree",
        "0 is not a tensor-parallel degree",
    ),
    "image longer than SageMaker accepts": (
        lambda s: s.update(image="111111111111.dkr.ecr.us-east-1.amazonaws.com/" + "a" * 220 + ":cu124"),
        "inference.image",
        "at most 255 characters",
    ),
    "sampling above 100": (
        lambda s: s["data_capture"].update(sampling_percentage=101),
        "inference.data_capture.sampling_percentage",
        "less than or equal to 100",
    ),
    "sampling below 0": (
        lambda s: s["data_capture"].update(sampling_percentage=-1),
        "inference.data_capture.sampling_percentage",
        "greater than or equal to 0",
    ),
    "model too big": (
        lambda s: variant(s)["model"].update(memory_gib=40),
        "inference.variants[0].model",
        "needs 40 GiB of accelerator memory; ml.g6.xlarge has 24 GiB",
    ),
    "two weight sources": (
        lambda s: variant(s)["model"].update(hf_model_id="Qwen/Qwen2.5-7B-Instruct"),
        "inference.variants[0].model",
        "exactly one of s3_uri or hf_model_id",
    ),
    "hub model in isolation": (
        lambda s: variant(s)["model"].update(s3_uri=None, hf_model_id="Qwen/Qwen2.5-7B-Instruct"),
        "inference.variants[0].model",
        "cannot reach the Hugging Face Hub",
    ),
    "volume on NVMe type": (
        lambda s: variant(s).update(volume_size_gb=100),
        "inference.variants[0].volume_size_gb",
        "NVMe instance storage",
    ),
    "bad rollout strategy": (
        lambda s: s["deployment"].update(strategy="blue_green"),
        "inference.deployment.strategy",
        "'all_at_once', 'canary', 'linear', 'rolling' or 'none'",
    ),
    "bad endpoint name": (
        lambda s: s.update(endpoint_name="my_endpoint"),
        "inference.endpoint_name",
        "String should match pattern",
    ),
    "weights not a prefix": (
        lambda s: variant(s)["model"].update(s3_uri="s3://bucket/model.tar.gz"),
        "inference.variants[0].model.s3_uri",
        "String should match pattern",
    ),
}


@pytest.mark.parametrize("change, field, words", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_inference_settings_name_file_and_field(config_dir, change, field, words):
    edit(config_dir, "dev", change)
    assert_rejected(config_dir, "dev", field, words)


def test_the_initial_count_check_reports_the_count_that_was_given(config_dir):
    edit(config_dir, "dev", lambda s: variant(s).update(initial_instance_count=3))
    with pytest.raises(
        ConfigError, match=r"initial_instance_count \(3\) must lie within min_instances..max_instances \(0..2\)"
    ):
        load_environment("dev", config_dir)


def test_duplicate_variant_names_are_rejected(config_dir):
    edit(config_dir, "staging", lambda s: variant(s, 1).update(name="primary"))
    with pytest.raises(ConfigError, match=r"staging\.yaml: inference: variant names must be unique"):
        load_environment("staging", config_dir)


def test_inferentia_needs_its_own_image(config_dir):
    edit(config_dir, "dev", lambda s: variant(s).update(instance_type="ml.inf2.xlarge"))
    with pytest.raises(ConfigError, match=r"dev\.yaml: inference: .*Inferentia/Trainium: set inference.image"):
        load_environment("dev", config_dir)


def test_catalogue_agrees_with_the_sagemaker_sdk_gpu_table():
    # The SDK's table next to the one the LMI image comes from, read without importing the SDK (slow).
    table = json.loads(lmi_table()[0].with_name("instance_gpu_info.json").read_text())
    compared = 0
    for region in ("us-east-1", "us-west-2"):
        for instance_type, info in table[region].items():
            spec = INSTANCE_CATALOGUE.get(instance_type)
            if spec is None:
                continue
            compared += 1
            assert spec.accelerator_count == info["Count"], instance_type
            # The SDK lists usable memory, a little under the nominal figure for some types.
            assert 0.9 <= info["TotalGpuMemoryInMiB"] / 1024 / spec.accelerator_memory_gib <= 1.0, instance_type
    assert compared >= 20


def test_every_catalogue_entry_has_a_price_for_the_shipped_regions():
    for instance_type, spec in INSTANCE_CATALOGUE.items():
        assert {"us-east-1", "us-west-2"} <= set(spec.hourly_usd), instance_type
        assert spec.monthly_usd("us-east-1", 2) == pytest.approx(spec.hourly_usd["us-east-1"] * 730 * 2)


def test_tensor_parallel_degree_must_be_a_power_of_two_within_the_gpus(config_dir):
    def on_four_gpus(degree):
        def change(section):
            variant(section).update(instance_type="ml.g5.12xlarge")  # 4 x A10G
            variant(section)["inference_component"].update(accelerators=4)  # a copy gets all four
            variant(section)["model"].update(tensor_parallel_degree=degree)

        return change

    edit(config_dir, "dev", on_four_gpus(3))
    assert_rejected(config_dir, "dev", "inference.variants[0].model.tensor_parallel_degree", "3 is not a power of two")
    for good in (4, 2, "max"):
        edit(config_dir, "dev", on_four_gpus(good))
        assert load_environment("dev", config_dir).inference.variants[0].model.tensor_parallel_degree == good
