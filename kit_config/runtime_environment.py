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

# The RuntimeSettings no config decides: a deployment runs with the runtime's defaults, and `make
# local` brings its own identity (local_runtime.identity: AGENT_JWKS_FILE, AGENT_CALLER_ID_SECRET).
# Every other setting is set here from config; a test fails on a setting in neither place, so a new
# runtime setting is a decision rather than a default nobody chose.
NOT_FROM_CONFIG = frozenset(
    {
        "organisation",
        "system_prompt_file",
        "connect_timeout_seconds",
        "max_attempts",
        "max_prompt_chars",
        "usd_per_1k_output_tokens",
        "jwks_file",
        "caller_id_secret",
        "server_stack",  # the image's server (uvloop + httptools), not an environment's choice; the bench flips it
    }
)


def runtime_environment(
    config: EnvironmentConfig,
    *,
    mlflow_tracking_uri: str | None,
    session_bucket: str | None = None,
    session_dir: str | None = None,
    caller_id_kms_key: str | None = None,
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
        # On an endpoint of inference components a request names its component (the variant is implied).
        "AGENT_TARGET_VARIANT": None if variant.inference_component else options.target_variant,
        "AGENT_INFERENCE_COMPONENT": variant.component_name(inference.endpoint_name),
        "AGENT_MLFLOW_TRACKING_URI": mlflow_tracking_uri,
        "AGENT_SESSION_BUCKET": session_bucket,
        "AGENT_SESSION_DIR": session_dir,
    }
    environment.update({name: value for name, value in optional.items() if value})
    environment.update(_concurrency(agent, deployed=session_bucket is not None))
    environment.update(_serving(agent, deployed=session_bucket is not None))
    environment.update(_identity(agent, deployed=session_bucket is not None, caller_id_kms_key=caller_id_kms_key))
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


def _serving(agent, *, deployed: bool) -> dict[str, str]:
    """How uvicorn serves behind the internal load balancer (Fargate, deployed): a keep-alive above the load
    balancer's idle timeout (else 502s on reused connections), and TLS on the load balancer's hop to the task
    (bearer tokens never in clear). Lambda runs no server; locally there is no load balancer."""
    if not (deployed and isinstance(agent, FargateAgent)):
        return {}
    return {"AGENT_KEEP_ALIVE_SECONDS": str(agent.keep_alive_seconds), "AGENT_TLS": "self_signed"}


def _identity(agent, *, deployed: bool, caller_id_kms_key: str | None) -> dict[str, str]:
    """Who may call, as the host proves it. Locally (`make local`, the tests) the identity is the
    local runtime's own (a generated key pair and a local pseudonym secret), so only the limit is
    taken from config."""
    limit = {"AGENT_MAX_TURNS_PER_CALLER": str(agent.identity.max_turns_per_caller)}
    if not deployed:
        return limit
    if not caller_id_kms_key:
        raise ValueError("a deployed agent needs the caller-id HMAC key (AGENT_CALLER_ID_KMS_KEY)")
    deployed_identity = {**limit, "AGENT_CALLER_ID_KMS_KEY": caller_id_kms_key}
    if not isinstance(agent, FargateAgent):
        # The Function URL's AWS_IAM auth: the runtime reads the SigV4-verified principal from the event.
        return {**deployed_identity, "AGENT_AUTH_MODE": "iam", "AGENT_IAM_CALLER": agent.identity.iam_caller}
    jwt = agent.identity.jwt
    return {
        **deployed_identity,
        "AGENT_AUTH_MODE": "jwt",
        "AGENT_JWT_ISSUER": jwt.issuer,
        "AGENT_JWT_AUDIENCE": jwt.audience,
        "AGENT_JWT_ALGORITHMS": json.dumps(jwt.algorithms),
        "AGENT_JWT_LEEWAY_SECONDS": str(jwt.leeway_seconds),
        # Inline, as the isolated task cannot fetch it; Fargate only (Lambda's variables are limited to
        # 4 KB in all, and a Lambda agent has no tokens to verify).
        "AGENT_JWKS": jwt.jwks,
    }
