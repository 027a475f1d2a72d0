"""The `agent:` section: compute-specific limits, reachable load balancers, existing variants."""

from __future__ import annotations

from functools import partial

import pytest

from kit_config import load_environment
from tests.kit_config.conftest import assert_rejected
from tests.kit_config.conftest import edit as edit_env

edit = partial(edit_env, section="agent")


BAD = {
    "lambda memory too small": ("dev", lambda a: a.update(memory_mb=64), "agent.memory_mb", "greater than or equal to 128"),
    "lambda memory too large": ("dev", lambda a: a.update(memory_mb=20480), "agent.memory_mb", "less than or equal to 10240"),
    "reserved concurrency above account default": ("dev", lambda a: a.update(reserved_concurrency=950), "agent.reserved_concurrency", "less than or equal to 900"),
    "reserved concurrency zero": ("dev", lambda a: a.update(reserved_concurrency=0), "agent.reserved_concurrency", "greater than or equal to 1"),
    "certificate from another region": ("prod", lambda a: a.update(certificate_arn="arn:aws:acm:us-east-1:333333333333:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"),
                                        "agent.certificate_arn", "the certificate is in us-east-1; the load balancer is in us-west-2"),
    "lambda timeout shorter than request": ("dev", lambda a: a.update(timeout_seconds=30), "agent", "must exceed runtime.request_timeout_seconds"),
    "unknown compute": ("dev", lambda a: a.update(compute="ec2"), "agent", "'lambda', 'fargate'"),
    "fargate without ingress": ("staging", lambda a: a.update(ingress_cidrs=[]), "agent", "nothing could reach the load balancer"),
    "fargate public ingress": ("staging", lambda a: a.update(ingress_cidrs=["0.0.0.0/0"]), "agent.ingress_cidrs", "not a private range"),
    "fargate memory not valid for cpu": ("staging", lambda a: a.update(memory_mb=1000), "agent", "not valid with cpu 1024"),
    "fargate min above max": ("prod", lambda a: a.update(min_tasks=9), "agent", "min_tasks (9) is greater than max_tasks (8)"),
    "bad certificate arn": ("prod", lambda a: a.update(certificate_arn="my-cert"), "agent.certificate_arn", "String should match pattern"),
    "variant that does not exist": ("staging", lambda a: a["runtime"].update(target_variant="shadow"), "agent", "is not a variant of inference.endpoint_name"),
    "lambda option on fargate": ("prod", lambda a: a.update(reserved_concurrency=5), "agent.reserved_concurrency", "unknown key"),
}


@pytest.mark.parametrize("env, change, field, words", BAD.values(), ids=BAD.keys())
def test_bad_agent_settings_name_file_and_field(config_dir, env, change, field, words):
    edit(config_dir, env, change)
    assert_rejected(config_dir, env, field, words)


def test_shipped_configs_use_both_compute_models():
    assert load_environment("dev").agent.compute == "lambda"
    assert load_environment("prod").agent.compute == "fargate"


def test_reserved_concurrency_is_opt_in(config_dir):
    """dev reserves none (a new account's quota can be 10, with 100 kept unreserved); a reservation still loads."""
    assert load_environment("dev").agent.reserved_concurrency is None
    edit(config_dir, "dev", lambda a: a.update(reserved_concurrency=20))
    assert load_environment("dev", config_dir).agent.reserved_concurrency == 20


def test_fargate_load_balancer_needs_two_zones(config_dir):
    def one_zone(data):
        data["network"].update(az_count=1, availability_zones=["us-east-1a"])
    edit_env(config_dir, "staging", one_zone)
    assert_rejected(config_dir, "staging", "agent", "needs subnets in at least two Availability Zones; network spans 1")
    edit_env(config_dir, "dev", one_zone)  # Lambda needs no load balancer
    assert load_environment("dev", config_dir).availability_zones == ["us-east-1a"]
