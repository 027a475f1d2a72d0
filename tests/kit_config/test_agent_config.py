"""The `agent:` section: compute-specific limits, reachable load balancers, existing variants."""

from __future__ import annotations

from functools import partial

import pytest

from kit_config import load_environment
from tests.kit_config.conftest import assert_rejected
from tests.kit_config.conftest import edit as edit_env

edit = partial(edit_env, section="agent")


BAD = {
    "lambda memory too small": (
        "dev",
        lambda a: a.update(memory_mb=64),
        "agent.memory_mb",
        "greater than or equal to 128",
    ),
    "lambda memory too large": (
        "dev",
        lambda a: a.update(memory_mb=20480),
        "agent.memory_mb",
        "less than or equal to 10240",
    ),
    "reserved concurrency above account default": (
        "dev",
        lambda a: a.update(reserved_concurrency=950),
        "agent.reserved_concurrency",
        "less than or equal to 900",
    ),
    "reserved concurrency zero": (
        "dev",
        lambda a: a.update(reserved_concurrency=0),
        "agent.reserved_concurrency",
        "greater than or equal to 1",
    ),
    "certificate from another region": (
        "prod",
        lambda a: a.update(
            certificate_arn="arn:aws:acm:us-east-1:333333333333:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
        ),
        "agent.certificate_arn",
        "region us-east-1 is not this environment's region us-west-2: an ACM certificate can only be used",
    ),
    "lambda timeout shorter than request": (
        "dev",
        lambda a: a.update(timeout_seconds=30),
        "agent",
        "must exceed runtime.request_timeout_seconds",
    ),
    "unknown compute": ("dev", lambda a: a.update(compute="ec2"), "agent", "'lambda', 'fargate'"),
    "fargate without ingress": (
        "staging",
        lambda a: a.update(ingress_cidrs=[]),
        "agent",
        "nothing could reach the load balancer",
    ),
    "fargate public ingress": (
        "staging",
        lambda a: a.update(ingress_cidrs=["0.0.0.0/0"]),
        "agent.ingress_cidrs",
        "not a private range",
    ),
    "fargate memory not valid for cpu": (
        "staging",
        lambda a: a.update(memory_mb=1000),
        "agent",
        "not valid with cpu 1024",
    ),
    "fargate min above max": (
        "prod",
        lambda a: a.update(min_tasks=9),
        "agent",
        "min_tasks (9) is greater than max_tasks (8)",
    ),
    "bad certificate arn": (
        "prod",
        lambda a: a.update(certificate_arn="my-cert"),
        "agent.certificate_arn",
        "String should match pattern",
    ),
    "variant that does not exist": (
        "staging",
        lambda a: a["runtime"].update(target_variant="shadow"),
        "agent",
        "is not a variant of inference.endpoint_name",
    ),
    "lambda option on fargate": (
        "prod",
        lambda a: a.update(reserved_concurrency=5),
        "agent.reserved_concurrency",
        "unknown key",
    ),
    # Lambda serves one session per execution environment; its concurrency is reserved_concurrency.
    "sessions on lambda": (
        "dev",
        lambda a: a.update(max_concurrent_sessions=8),
        "agent.max_concurrent_sessions",
        "unknown key",
    ),
    "no sessions per task": (
        "staging",
        lambda a: a.update(max_concurrent_sessions=0),
        "agent.max_concurrent_sessions",
        "greater than or equal to 1",
    ),
    "sessions beyond one worker": (
        "prod",
        lambda a: a.update(max_concurrent_sessions=300),
        "agent.max_concurrent_sessions",
        "less than or equal to 256",
    ),
    "sessions beyond the task's memory": (
        "staging",
        lambda a: a.update(cpu=256, memory_mb=512, max_concurrent_sessions=200),
        "agent",
        "max_concurrent_sessions 200 needs memory_mb >= 656",
    ),
    "sessions given as text": (
        "staging",
        lambda a: a.update(max_concurrent_sessions="32"),
        "agent.max_concurrent_sessions",
        "valid integer",
    ),
    "cpu not a size (no default sessions either)": (
        "staging",
        lambda a: a.update(cpu=[1024]),
        "agent.cpu",
        "Input should be",
    ),
    "scaling target at the limit": (
        "staging",
        lambda a: a.update(sessions_target_percent=100),
        "agent.sessions_target_percent",
        "less than or equal to 90",
    ),
    "scaling target too low": (
        "prod",
        lambda a: a.update(sessions_target_percent=5),
        "agent.sessions_target_percent",
        "greater than or equal to 10",
    ),
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


@pytest.mark.parametrize(
    "cpu, memory_mb, sessions", [(256, 512, 8), (512, 1024, 16), (1024, 2048, 32), (2048, 4096, 64), (4096, 8192, 64)]
)
def test_sessions_per_task_default_from_the_task_size(config_dir, cpu, memory_mb, sessions):
    """32 per vCPU, 8 to 64: one uvicorn worker (one Python process) uses about one vCPU."""
    edit(config_dir, "staging", lambda a: a.update(cpu=cpu, memory_mb=memory_mb))
    agent = load_environment("staging", config_dir).agent
    assert agent.max_concurrent_sessions == sessions
    assert agent.sessions_scaling_target == sessions * 0.7  # scale out at 70 % of the limit by default


def test_sessions_per_task_and_scaling_target_can_be_set(config_dir):
    edit(config_dir, "prod", lambda a: a.update(max_concurrent_sessions=40, sessions_target_percent=50))
    agent = load_environment("prod", config_dir).agent
    assert (agent.max_concurrent_sessions, agent.sessions_scaling_target) == (40, 20.0)


def test_a_lambda_environment_serves_one_session():
    assert load_environment("dev").agent.max_concurrent_sessions == 1


def test_runtime_environment_passes_the_session_limit(config_dir):
    """Deployed: the task's limit and its gauge (Fargate), 1 (Lambda). Locally one worker stands in for a
    whole function: its reservation, else the runtime's default."""
    from agent_runtime.settings import RuntimeSettings
    from kit_config.runtime_environment import SESSIONS_METRIC_SECONDS, runtime_environment

    def concurrency(env: str, **where) -> dict:
        environment = runtime_environment(load_environment(env, config_dir), mlflow_tracking_uri=None, **where)
        return {
            k: v
            for k, v in environment.items()
            if k in {"AGENT_MAX_CONCURRENT_SESSIONS", "AGENT_SESSIONS_METRIC_SECONDS"}
        }

    deployed = {"session_bucket": "sessions-bucket", "caller_id_kms_key": "arn:aws:kms:us-east-1:111111111111:key/k"}
    local = {"session_dir": "/tmp/sessions"}
    assert concurrency("prod", **deployed) == {
        "AGENT_MAX_CONCURRENT_SESSIONS": "64",
        "AGENT_SESSIONS_METRIC_SECONDS": str(SESSIONS_METRIC_SECONDS),
    }
    assert concurrency("prod", **local) == {"AGENT_MAX_CONCURRENT_SESSIONS": "64"}
    assert concurrency("dev", **deployed) == {"AGENT_MAX_CONCURRENT_SESSIONS": "1"}
    assert concurrency("dev", **local) == {} and RuntimeSettings.model_fields["max_concurrent_sessions"].default == 32
    edit(config_dir, "dev", lambda a: a.update(reserved_concurrency=20))
    assert concurrency("dev", **local) == {"AGENT_MAX_CONCURRENT_SESSIONS": "20"}
