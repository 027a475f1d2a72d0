"""Blue/green rollouts: traffic steps that fit the fleet, a timeout SageMaker accepts, the peak fleet."""

from __future__ import annotations

from functools import partial

import pytest

from kit_config import load_environment
from tests.kit_config.conftest import assert_rejected
from tests.kit_config.conftest import edit as edit_env

edit = partial(edit_env, section="inference")


BAD = {
    "canary on a one-instance variant": (
        "staging",
        lambda s: s["deployment"].update(strategy="canary"),
        "inference.deployment.strategy",
        "canary shifts traffic in steps, and SageMaker's CanarySize must be at most 50% of a variant's instance count; "
        "variant 'primary' can be at 1 instance",
    ),
    "canary on inference components": (
        "dev",
        lambda s: s["deployment"].update(strategy="canary"),
        "inference.deployment.strategy",
        "canary is the endpoint's blue/green traffic shifting, for variants that serve their own model",
    ),
    "rolling update of a component that scales to zero": (
        "dev",
        lambda s: s["deployment"].update(strategy="rolling"),
        "inference.deployment.strategy",
        "a rolling update's batch (1 copy) must be at most 50% of the component's copy count, and variant 'primary' "
        "can be at 0 (min_copies, scale to zero)",
    ),
    "rolling update of variants that serve their own model": (
        "staging",
        lambda s: s["deployment"].update(strategy="rolling"),
        "inference.deployment.strategy",
        "rolling is the kit's update of inference components, copy by copy",
    ),
    "linear on one-instance variants (staging before this change)": (
        "staging",
        lambda s: s["deployment"].update(strategy="linear", linear_step_percent=25),
        "inference.deployment.strategy",
        "LinearStepSize must be 10-50%",
    ),
    "scheduled action drops prod's canary fleet to one": (
        "prod",
        lambda s: s["variants"][0]["autoscaling"].update(
            scheduled=[{"name": "weekend", "schedule": "cron(0 0 ? * SAT *)", "min_instances": 1, "max_instances": 2}]
        ),
        "inference.deployment.strategy",
        "variant 'primary' can be at 1 instance (autoscaling min_instances or a scheduled action's)",
    ),
    "linear step below SageMaker's 10%": (
        "prod",
        lambda s: s["deployment"].update(strategy="linear", linear_step_percent=5),
        "inference.deployment.linear_step_percent",
        "greater than or equal to 10",
    ),
    "canary above half the fleet": (
        "prod",
        lambda s: s["deployment"].update(canary_percent=60),
        "inference.deployment.canary_percent",
        "less than or equal to 50",
    ),
    "rollout longer than MaximumExecutionTimeoutInSeconds": (
        "prod",
        lambda s: s["deployment"].update(strategy="linear", linear_step_percent=10, wait_minutes=45),
        "inference.deployment",
        "the rollout needs a 31500 s timeout (10 traffic step(s) x 45 min bake",  # 900 + 1200 + 27000 + 600 + 1800
    ),
}


@pytest.mark.parametrize("env, change, field, words", BAD.values(), ids=BAD.keys())
def test_rollouts_sagemaker_would_fail_are_rejected(config_dir, env, change, field, words):
    edit(config_dir, env, change)
    assert_rejected(config_dir, env, field, words)


def test_steps_are_fine_with_two_instances_everywhere(config_dir):
    def two_each(section):
        section["deployment"].update(strategy="linear", linear_step_percent=50)
        for variant in section["variants"]:
            variant["initial_instance_count"] = 2
            variant["autoscaling"].update(
                min_instances=2, max_instances=max(2, variant["autoscaling"]["max_instances"])
            )
        section["max_instances_cap"] = 10

    edit(config_dir, "staging", two_each)
    assert load_environment("staging", config_dir).inference.deployment.strategy == "linear"


def test_a_long_linear_rollout_gets_a_timeout_above_its_bake_time(config_dir):
    """The old construct clamped at 14400 s, below the bake time of a long linear rollout; the config's does not."""
    edit(
        config_dir, "prod", lambda s: s["deployment"].update(strategy="linear", linear_step_percent=10, wait_minutes=30)
    )
    inference = load_environment("prod", config_dir).inference
    baking = 10 * 30 * 60 + inference.deployment.termination_wait_minutes * 60  # 18,600 s of waits alone
    assert inference.rollout_timeout_seconds() == 900 + 1200 + baking + 1800 == 22500


def test_rollout_peak_counts_both_fleets():
    assert load_environment("staging").inference.rollout_peak_instances() == {"ml.g5.2xlarge": 8}
    assert load_environment("prod").inference.rollout_peak_instances() == {"ml.g6e.2xlarge": 12}
