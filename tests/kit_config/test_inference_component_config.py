"""Inference components and scale to zero: what config refuses before anything is synthesized."""

from __future__ import annotations

from functools import partial

import pytest

from kit_config import load_environment
from tests.kit_config.conftest import assert_rejected
from tests.kit_config.conftest import edit as edit_env

edit = partial(edit_env, section="inference")
VARIANT = "inference.variants[0]"


def variant(section: dict, index: int = 0) -> dict:
    return section["variants"][index]


def component(section: dict) -> dict:
    return variant(section)["inference_component"]


def _without_component(section: dict) -> None:
    del variant(section)["inference_component"]


BAD = {
    "zero instances without a component": (
        "dev",
        _without_component,
        f"{VARIANT}.autoscaling.min_instances",
        "0 instances needs an inference_component",
    ),
    "zero copies but an instance kept": (
        "dev",
        lambda s: variant(s)["autoscaling"].update(min_instances=1),
        f"{VARIANT}.autoscaling.min_instances",
        "scale to zero needs both at 0",
    ),
    "a copy wants more GPUs than the instance has": (
        "dev",
        lambda s: component(s).update(accelerators=2),
        f"{VARIANT}.inference_component.accelerators",
        "2 is more than ml.g6.xlarge has (1 x L4)",
    ),
    "a copy wants more host memory than the instance has": (
        "dev",
        lambda s: component(s).update(memory_mib=20480),
        f"{VARIANT}.inference_component.memory_mib",
        "20480 MiB is more host memory than ml.g6.xlarge has (16 GiB)",
    ),
    "more copies than the instances can hold": (
        "dev",
        lambda s: component(s).update(max_copies=3),
        f"{VARIANT}.inference_component.max_copies",
        "3 copies do not fit on 2 x ml.g6.xlarge (1 copy per instance",
    ),
    "initial copies outside min..max": (
        "dev",
        lambda s: component(s).update(initial_copies=3),
        f"{VARIANT}.inference_component.initial_copies",
        "3 must lie within min_copies..max_copies (0..2)",
    ),
    "zero copies at creation": (
        "dev",
        lambda s: component(s).update(initial_copies=0),
        f"{VARIANT}.inference_component.initial_copies",
        "greater than or equal to 1",
    ),
    "scheduled actions on a component": (
        "dev",
        lambda s: variant(s)["autoscaling"].update(
            scheduled=[
                {"name": "nights", "schedule": "cron(0 20 ? * MON-FRI *)", "min_instances": 1, "max_instances": 1}
            ]
        ),
        f"{VARIANT}.autoscaling.scheduled",
        "managed instance scaling owns for an inference component",
    ),
    "a model that needs more accelerator memory than a copy gets": (
        "dev",
        lambda s: (
            variant(s).update(
                instance_type="ml.g6.12xlarge", inference_ami_version="al2023-ami-sagemaker-inference-gpu-4-1"
            ),
            variant(s)["model"].update(memory_gib=40),
        ),
        f"{VARIANT}.inference_component.accelerators",
        "needs 40 GiB of accelerator memory; 1 x L4 per copy has 24 GiB",
    ),
    "a component variant deregistered from autoscaling": (
        "dev",
        lambda s: variant(s)["autoscaling"].update(registered=False),
        f"{VARIANT}.autoscaling.registered",
        "a variant of inference components is not a scalable target",
    ),
    "a default component name cut to end in a hyphen": (
        "dev",
        lambda s: s.update(endpoint_name="e" * 62),  # "e" * 62 + "-primary", cut to 63, ends in "-"
        f"{VARIANT}.inference_component.name",
        "is not an InferenceComponentName: set inference_component.name",
    ),
    "two components of one name": (
        "staging",
        lambda s: [
            v.update(
                inference_component={
                    "name": "chat",
                    "accelerators": 1,
                    "memory_mib": 4096,
                    "min_copies": 1,
                    "max_copies": 1,
                }
            )
            for v in s["variants"]
        ],
        "inference.variants[1].inference_component.name",
        "'chat' is also variant 'primary''s component",
    ),
    "components on one variant and a model on the other": (
        "staging",
        lambda s: variant(s).update(
            inference_component={"accelerators": 1, "memory_mib": 4096, "min_copies": 1, "max_copies": 1}
        ),
        "inference.variants[1].inference_component",
        "give every variant an inference_component, or none",
    ),
}


@pytest.mark.parametrize("env, change, field, words", BAD.values(), ids=BAD.keys())
def test_component_settings_sagemaker_would_refuse_name_file_and_field(config_dir, env, change, field, words):
    edit(config_dir, env, change)
    assert_rejected(config_dir, env, field, words)


def test_dev_scales_to_zero_on_a_component_named_after_its_endpoint(config_dir):
    inference = load_environment("dev", config_dir).inference
    [primary] = inference.variants
    assert inference.hosts_inference_components
    assert primary.inference_component.scales_to_zero and primary.autoscaling.min_instances == 0
    assert primary.component_name(inference.endpoint_name) == "governed-agents-dev-llm-primary"
    assert primary.copies_per_instance == 1


def test_an_update_of_a_component_peaks_at_twice_its_instances_or_one_more_batch(config_dir):
    # all_at_once: SageMaker's blue/green of every copy holds both fleets.
    assert load_environment("dev", config_dir).inference.rollout_peak_instances() == {"ml.g6.xlarge": 4}

    def rolling(section):
        component(section).update(min_copies=2, initial_copies=2, max_copies=4)
        variant(section).update(initial_instance_count=2)
        variant(section)["autoscaling"].update(min_instances=2, max_instances=4)
        section["deployment"].update(strategy="rolling", component_batch_copies=1)
        section["max_instances_cap"] = 5

    edit(config_dir, "dev", rolling)
    inference = load_environment("dev", config_dir).inference
    # Rolling: the fleet plus room for one batch (one copy per ml.g6.xlarge).
    assert inference.rollout_peak_instances() == {"ml.g6.xlarge": 5}
    assert inference.rollout_steps() == 4


def test_a_rolling_batch_below_five_percent_of_the_copies_is_refused(config_dir):
    def many_copies(section):
        variant(section).update(instance_type="ml.g6.48xlarge")  # 8 x L4
        component(section).update(min_copies=4, initial_copies=4, max_copies=32, memory_mib=8192)
        variant(section)["autoscaling"].update(min_instances=1, max_instances=4)
        section["deployment"].update(strategy="rolling", component_batch_copies=1)
        section["max_instances_cap"] = 10

    edit(config_dir, "dev", many_copies)
    assert_rejected(
        config_dir, "dev", "inference.deployment.component_batch_copies", "1 is below 5% of variant 'primary'"
    )
