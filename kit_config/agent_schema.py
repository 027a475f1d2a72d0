"""The `agent:` section of an environment: how the agent runtime is deployed and configured.

`compute: lambda | fargate` selects the model; runtime settings (payload, tools, limits) are the
subset of `agent_runtime.settings.RuntimeSettings` a deployment decides.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from kit_config.config_section import ConfigSection
from kit_config.dns_schema import AgentDns
from kit_config.field_types import CertificateArn
from kit_config.identity_schema import FargateIdentity, LambdaIdentity
from kit_config.runtime_fields import runtime_field
from kit_config.tool_registry import check_tool_names
from kit_config.validation_errors import errors_at

# Lambda's regional default: 1000 concurrent executions per account, 100 of which must stay
# unreserved, so one function can reserve at most 900 without a quota increase ("Configuring
# reserved concurrency", https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html:
# "You can reserve up to the Unreserved account concurrency value minus 100"). New accounts can
# start with a quota of 10, where no reservation at all is possible: reservation is opt-in.
LAMBDA_MAX_RESERVED_CONCURRENCY = 900
# Valid Fargate cpu units -> memory (MiB) range and step.
FARGATE_MEMORY = {
    256: (512, 2048, 512),
    512: (1024, 4096, 1024),
    1024: (2048, 8192, 1024),
    2048: (4096, 16384, 1024),
    4096: (8192, 30720, 1024),
}

# Sessions (turns in flight) per Fargate task. A task runs one uvicorn worker: one Python process,
# which uses about one vCPU whatever the task's size. Measured on the local stack (scripted 500 ms
# model, tracing on, one worker): about 25 ms of CPU per turn, and about 0.25 MiB more memory per
# session in flight over a 226 MiB process. So a vCPU sustains about 40 turns/s: 32 sessions of 1 s
# turns keep it about 80 % busy, and real model turns are longer. Past one vCPU the one process
# gains nothing, hence the cap on the default.
FARGATE_SESSIONS_PER_VCPU = 32
FARGATE_DEFAULT_SESSIONS_CAP = 64
FARGATE_MAX_SESSIONS = 256  # explicit setting; beyond it a turn's CPU, not the model, sets the pace
# Memory a task needs for its sessions: the measured process and per-session figures above, with
# margin for long conversations (the whole history is in memory during a turn).
AGENT_BASE_MEMORY_MIB = 256
SESSION_MEMORY_MIB = 2


# The internal load balancer's idle timeout: a non-streaming turn sends no byte for up to the request
# timeout, and the agent's own 504 must reach the caller before the load balancer gives up on it.
IDLE_TIMEOUT_MARGIN_SECONDS = 30
# uvicorn's keep-alive is above the idle timeout so that the load balancer, never the target, closes an
# idle connection: AWS recommends "the idle timeout of your application to be larger than the idle timeout
# configured for the load balancer", else the load balancer may send a request on a connection the target
# has just closed and answer 502 itself
# (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-load-balancer-attributes.html#connection-idle-timeout).
# Checked on the synthesized service by Kit-KeepAliveExceedsIdleTimeout.
KEEP_ALIVE_MARGIN_SECONDS = 5


def default_sessions_per_task(cpu: int) -> int:
    return min(FARGATE_DEFAULT_SESSIONS_CAP, max(8, FARGATE_SESSIONS_PER_VCPU * cpu // 1024))


class AgentRuntimeOptions(ConfigSection):
    """The `RuntimeSettings` a deployment decides, with the runtime's defaults and bounds
    (kit_config.runtime_fields); the stack turns them into AGENT_* variables."""

    target_variant: str | None = runtime_field("target_variant")
    max_tokens: int = runtime_field("max_tokens")
    temperature: float = runtime_field("temperature")
    top_p: float = runtime_field("top_p")
    stop: list[str] = runtime_field("stop")
    tools: list[str] = runtime_field("tools")
    max_cycles: int = runtime_field("max_cycles")
    max_tool_calls: int = runtime_field("max_tool_calls")
    # Whole seconds: the Lambda timeout and the load balancer's idle timeout are derived from it.
    request_timeout_seconds: int = runtime_field("request_timeout_seconds", ge=1)

    @field_validator("tools")
    @classmethod
    def _registered_tools(cls, names: list[str]) -> list[str]:
        # The names agent_runtime.tools.load_tools accepts (kit_config.tool_registry).
        return check_tool_names(names)


class AgentAlarms(ConfigSection):
    errors_per_5_minutes: int = Field(default=5, ge=1)
    throttles_per_5_minutes: int = Field(default=10, ge=1)
    latency_p95_ms: int = Field(default=30_000, gt=0)


class _AgentBase(ConfigSection):
    runtime: AgentRuntimeOptions = AgentRuntimeOptions()
    alarms: AgentAlarms = AgentAlarms()
    session_prefix: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9/_-]*/$")] = "sessions/"


class LambdaAgent(_AgentBase):
    compute: Literal["lambda"]
    memory_mb: int = Field(default=2048, ge=128, le=10240, description="Lambda memory, 128-10240 MB")
    timeout_seconds: int = Field(default=120, ge=1, le=900)
    reserved_concurrency: int | None = Field(
        default=None,
        ge=1,
        le=LAMBDA_MAX_RESERVED_CONCURRENCY,
        description=f"Concurrency reserved for (and capping) the function, at most {LAMBDA_MAX_RESERVED_CONCURRENCY} "
        "(account default 1000 with 100 kept unreserved); unset: no reservation, the function shares the "
        "account's unreserved pool (and `make cost` cannot bound its maximum). An execution environment "
        "serves one request at a time, so this is also the most sessions the agent answers at once: "
        "set it to the concurrent sessions expected at peak; beyond it Lambda throttles",
    )
    identity: LambdaIdentity = LambdaIdentity()

    @property
    def max_concurrent_sessions(self) -> int:
        """Per execution environment: Lambda sends an environment one request at a time
        (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html)."""
        return 1

    @model_validator(mode="after")
    def _timeout_covers_request(self) -> LambdaAgent:
        if self.timeout_seconds <= self.runtime.request_timeout_seconds:
            raise ValueError(
                f"timeout_seconds ({self.timeout_seconds}) must exceed runtime.request_timeout_seconds "
                f"({self.runtime.request_timeout_seconds}) so the agent can answer 504 before Lambda kills it"
            )
        return self


class FargateAgent(_AgentBase):
    compute: Literal["fargate"]
    cpu: Literal[256, 512, 1024, 2048, 4096] = 1024
    memory_mb: int = 2048
    min_tasks: int = Field(default=2, ge=1, le=100)
    max_tasks: int = Field(default=6, ge=1, le=100)
    cpu_target_percent: int = Field(default=60, ge=10, le=90)
    max_concurrent_sessions: int = Field(
        default=None,
        ge=1,
        le=FARGATE_MAX_SESSIONS,
        validate_default=False,
        description="Turns one task answers at once (one uvicorn worker); the next request answers 503 with "
        f"Retry-After. Default: {FARGATE_SESSIONS_PER_VCPU} per vCPU of `cpu`, 8 to {FARGATE_DEFAULT_SESSIONS_CAP}",
    )
    sessions_target_percent: int = Field(
        default=70,
        ge=10,
        le=90,
        description="Scale out when the tasks' mean sessions in flight exceed this share of max_concurrent_sessions; "
        "the rest is headroom for bursts while new tasks start",
    )
    requests_per_target: int = Field(
        default=50,
        ge=1,
        description="ALB requests a task takes per minute at full load, for the load balancer's cost estimate "
        "(`make cost`); scaling follows sessions in flight (sessions_target_percent) and CPU, not this rate",
    )
    certificate_arn: CertificateArn | None = Field(
        default=None,
        description="The ACM certificate the load balancer's HTTPS listener presents; required (the agent verifies "
        "bearer tokens, which must not cross the network in clear); it must cover dns.record_name",
    )
    dns: AgentDns | None = Field(default=None, description="The agent's host name (required with HTTPS)")
    ingress_security_group_ids: list[Annotated[str, Field(pattern=r"^sg-[0-9a-f]{8,17}$")]] = Field(default=[])
    ingress_cidrs: list[str] = Field(default=[])
    identity: FargateIdentity

    @model_validator(mode="before")
    @classmethod
    def _default_sessions(cls, data: Any) -> Any:
        # From the task's size; an invalid cpu is reported by its own field.
        if isinstance(data, dict) and data.get("max_concurrent_sessions") is None:
            cpu = data.get("cpu", cls.model_fields["cpu"].default)
            if isinstance(cpu, int) and cpu in FARGATE_MEMORY:
                data = {**data, "max_concurrent_sessions": default_sessions_per_task(cpu)}
        return data

    @property
    def load_balancer_idle_timeout_seconds(self) -> int:
        """The internal load balancer's connection idle timeout (ALB allows 1-4000 s; at most 930 here)."""
        return self.runtime.request_timeout_seconds + IDLE_TIMEOUT_MARGIN_SECONDS

    @property
    def keep_alive_seconds(self) -> int:
        """uvicorn's keep-alive (AGENT_KEEP_ALIVE_SECONDS): derived from the idle timeout, always above it."""
        return self.load_balancer_idle_timeout_seconds + KEEP_ALIVE_MARGIN_SECONDS

    @property
    def sessions_scaling_target(self) -> float:
        """Mean sessions in flight per task that the scaling policy keeps the service at."""
        return self.max_concurrent_sessions * self.sessions_target_percent / 100

    @field_validator("ingress_cidrs")
    @classmethod
    def _private_cidrs(cls, cidrs: list[str]) -> list[str]:
        for cidr in cidrs:
            try:
                network = ipaddress.IPv4Network(cidr, strict=True)
            except ValueError as error:
                raise ValueError(f"{cidr!r} is not a valid IPv4 CIDR ({error})") from None
            if network.prefixlen == 0 or not network.is_private:
                raise ValueError(f"{cidr} is not a private range; the load balancer is internal")
        return cidrs

    @model_validator(mode="after")
    def _consistent(self) -> FargateAgent:
        if not self.ingress_security_group_ids and not self.ingress_cidrs:
            raise ValueError("set ingress_security_group_ids or ingress_cidrs: nothing could reach the load balancer")
        low, high, step = FARGATE_MEMORY[self.cpu]
        if not (low <= self.memory_mb <= high and (self.memory_mb - low) % step == 0):
            raise ValueError(
                f"memory_mb {self.memory_mb} is not valid with cpu {self.cpu} ({low}-{high} MiB in steps of {step})"
            )
        needed = AGENT_BASE_MEMORY_MIB + SESSION_MEMORY_MIB * self.max_concurrent_sessions
        if self.memory_mb < needed:
            raise ValueError(
                f"max_concurrent_sessions {self.max_concurrent_sessions} needs memory_mb >= {needed} "
                f"({AGENT_BASE_MEMORY_MIB} MiB for the process + {SESSION_MEMORY_MIB} MiB per session)"
            )
        # One caller must not be able to occupy a whole worker, or it could starve everyone else.
        if self.identity.max_turns_per_caller >= self.max_concurrent_sessions:
            raise errors_at(
                "FargateAgent",
                [
                    (
                        ("identity", "max_turns_per_caller"),
                        (
                            f"{self.identity.max_turns_per_caller} would let one caller fill a task's {self.max_concurrent_sessions} "
                            "sessions (max_concurrent_sessions) and starve everyone else; use fewer"
                        ),
                    )
                ],
            )
        if self.min_tasks > self.max_tasks:
            raise ValueError(f"min_tasks ({self.min_tasks}) is greater than max_tasks ({self.max_tasks})")
        return self

    @model_validator(mode="after")
    def _bearer_tokens_over_tls(self) -> FargateAgent:
        """Every request carries a bearer token (agent.identity.jwt): callers reach the agent over HTTPS only,
        at a name its certificate covers. The decision and the choices of certificate: docs/governance.md,
        "Bearer tokens travel over TLS only"."""
        problems = []
        if self.certificate_arn is None:
            problems.append(
                (
                    ("certificate_arn",),
                    (
                        "required: the agent verifies a bearer token (identity.jwt) on every request, and a token "
                        "sent over plain HTTP is readable by anyone on the path and replayable until it expires. "
                        "Set the ARN of an ACM certificate for dns.record_name in this account and region (public, "
                        "for a name in a domain you own, or issued by AWS Private CA); the load balancer then "
                        "listens on HTTPS only"
                    ),
                )
            )
        if self.dns is None:
            problems.append(
                (
                    ("dns",),
                    (
                        "required with HTTPS: callers check the certificate against the host name they connect to, "
                        "and no certificate can cover the internal load balancer's own DNS name. Set zone_name and "
                        "record_name (and hosted_zone_id for an existing private hosted zone; without it the kit "
                        "creates one in the agent's VPC)"
                    ),
                )
            )
        if problems:
            raise errors_at("FargateAgent", problems)
        return self


AgentConfig = Annotated[LambdaAgent | FargateAgent, Field(discriminator="compute")]
