"""The AGENT_* variables for an environment's agent runtime, from its config.

One mapping for both places the runtime runs: the CDK stacks (Lambda / Fargate environment) and
`make local`. Only variables `agent_runtime.settings.RuntimeSettings` reads are produced.
"""

from __future__ import annotations

import json

from agent_runtime.settings import RuntimeSettings
from kit_config.agent_schema import FargateAgent
from kit_config.schema import EnvironmentConfig

# The ConcurrentSessions gauge's period on Fargate: twice per scaling-metric minute, so every
# one-minute period has a data point from every task.
SESSIONS_METRIC_SECONDS = 30


def runtime_environment(
    config: EnvironmentConfig, *, mlflow_tracking_uri: str | None, session_bucket: str | None = None,
    session_dir: str | None = None,
) -> dict[str, str]:
    agent, inference = config.agent, config.inference
    options = agent.runtime
    variant = next((v for v in inference.variants if v.name == options.target_variant), inference.variants[0])
    environment = {
        "AGENT_ENV_NAME": config.name,
        "AGENT_REGION": config.region,
        "AGENT_ENDPOINT_NAME": inference.endpoint_name,
        "AGENT_MAX_TOKENS": str(options.max_tokens),
        "AGENT_TEMPERATURE": str(options.temperature),
        "AGENT_TOP_P": str(options.top_p),
        "AGENT_STOP": json.dumps(options.stop),
        "AGENT_TOOLS": json.dumps(options.tools),
        "AGENT_MAX_CYCLES": str(options.max_cycles),
        "AGENT_MAX_TOOL_CALLS": str(options.max_tool_calls),
        "AGENT_REQUEST_TIMEOUT_SECONDS": str(options.request_timeout_seconds),
        "AGENT_READ_TIMEOUT_SECONDS": str(options.request_timeout_seconds),
        "AGENT_MLFLOW_EXPERIMENT": f"{config.tags.Project}-{config.name}-agent",
        "AGENT_SESSION_PREFIX": agent.session_prefix,
        # Cost estimate: the variant's on-demand price shared by the requests it serves at once.
        "AGENT_INSTANCE_HOURLY_USD": str(variant.spec.hourly_usd.get(config.region, 0.0)),
        "AGENT_CONCURRENT_REQUESTS_PER_INSTANCE": str(variant.autoscaling.target_value),
    }
    optional = {
        "AGENT_TARGET_VARIANT": options.target_variant,
        "AGENT_MLFLOW_TRACKING_URI": mlflow_tracking_uri,
        "AGENT_SESSION_BUCKET": session_bucket,
        "AGENT_SESSION_DIR": session_dir,
    }
    environment.update({name: value for name, value in optional.items() if value})
    environment.update(_concurrency(agent, deployed=session_bucket is not None))
    unknown = set(environment) - RuntimeSettings.environment_variables()
    if unknown:
        raise ValueError(f"the runtime's settings do not read {sorted(unknown)}")
    return environment


def _concurrency(agent, *, deployed: bool) -> dict[str, str]:
    """Sessions one worker serves at once (the stacks pass a session bucket; `make local` and the
    tests a session directory)."""
    if isinstance(agent, FargateAgent):
        sessions = {"AGENT_MAX_CONCURRENT_SESSIONS": str(agent.max_concurrent_sessions)}
        # The gauge the service's scaling policy tracks; locally nothing reads it.
        return {**sessions, "AGENT_SESSIONS_METRIC_SECONDS": str(SESSIONS_METRIC_SECONDS)} if deployed else sessions
    if deployed:  # one request per execution environment
        return {"AGENT_MAX_CONCURRENT_SESSIONS": str(agent.max_concurrent_sessions)}
    # Locally one uvicorn worker stands in for all of the function's environments: as many as it
    # reserves, else the runtime's default.
    return {"AGENT_MAX_CONCURRENT_SESSIONS": str(agent.reserved_concurrency)} if agent.reserved_concurrency else {}
