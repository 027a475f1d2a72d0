"""One settings object for the runtime, filled from `AGENT_*` environment variables.

The CDK stacks set exactly these variables on the Lambda function / Fargate task (a test checks
that the two cannot drift apart); locally, `make local` sets them. List values are JSON
(`AGENT_TOOLS='["current_time"]'`).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_TOOLS = ["search_knowledge_base", "classify_ticket_priority", "current_time"]


class RuntimeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AGENT_", frozen=True, extra="ignore")

    # Where the agent runs
    env_name: str = "local"
    organisation: str = "Example Corp"
    region: str = "us-east-1"

    # The model: endpoint and payload parameters
    endpoint_name: str
    target_variant: str | None = None
    inference_component: str | None = None
    max_tokens: Annotated[int, Field(ge=1, le=32768)] = 512
    temperature: Annotated[float, Field(ge=0, le=2)] = 0.2
    top_p: Annotated[float, Field(gt=0, le=1)] = 0.9
    stop: list[str] = []

    # The agent: prompt and tools
    system_prompt_file: Path = PACKAGE_DIR / "prompts" / "support_triage.md"
    tools: list[str] = DEFAULT_TOOLS

    # Limits and resilience
    max_cycles: Annotated[int, Field(ge=1, le=50)] = 6
    max_tool_calls: Annotated[int, Field(ge=0, le=100)] = 8
    request_timeout_seconds: Annotated[float, Field(gt=0, le=900)] = 60
    connect_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 3
    read_timeout_seconds: Annotated[float, Field(gt=0, le=900)] = 60
    max_attempts: Annotated[int, Field(ge=1, le=10)] = (
        3  # attempts per endpoint call, the first included (botocore total_max_attempts)
    )
    max_prompt_chars: Annotated[int, Field(ge=1, le=200_000)] = 8000

    # Concurrency: the turns one worker serves at once (the stacks derive it from the Fargate task's
    # size; Lambda: 1 per execution environment). It sizes the worker's thread pool and the model
    # client's connection pool; a request beyond it answers 503 with Retry-After (agent_runtime.concurrency).
    max_concurrent_sessions: Annotated[int, Field(ge=1, le=1024)] = 32
    # Period of the ConcurrentSessions gauge (EMF) that Fargate's scaling policy tracks; 0: not emitted.
    sessions_metric_seconds: Annotated[float, Field(ge=0, le=3600)] = 0

    # Identity (agent_runtime.identity): who is calling. `iam` (Lambda Function URL, AuthType AWS_IAM):
    # the SigV4-verified principal from the event's requestContext.authorizer.iam; `jwt` (Fargate,
    # local): a bearer JWT verified against the JWKS (inline document as the stacks pass it, or a file).
    auth_mode: Literal["iam", "jwt"] = "jwt"
    # Who an IAM caller is (iam mode): `role` (an assumed role's ARN without its session name: a script
    # or CLI whose SDK names each session `botocore-session-<time>` stays one caller across runs) or
    # `role_session` (the full ARN: a front end that assumes the role once per end user, with the user
    # as RoleSessionName, makes each user a caller). IAM users, root and federated users are their ARN
    # either way. Trade-off: docs/governance.md, "Who an IAM caller is".
    iam_caller: Literal["role", "role_session"] = "role"
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_algorithms: list[Literal["RS256", "ES256"]] = ["RS256", "ES256"]
    jwks: str | None = None
    jwks_file: Path | None = None
    jwt_leeway_seconds: Annotated[float, Field(ge=0, le=300)] = 30
    # Turns one caller may have in flight (across workers); beyond: 429 with Retry-After.
    max_turns_per_caller: Annotated[int, Field(ge=1, le=1024)] = 4
    # The pseudonymous caller id is a keyed hash of the principal: KMS GenerateMac with this HMAC
    # key on AWS, or a local secret (local mode only).
    caller_id_kms_key: str | None = None
    caller_id_secret: SecretStr | None = None

    # Serving (`python -m agent_runtime`, uvicorn; Fargate and `make local`). Keep-alive: how long an idle
    # connection stays open; behind a load balancer it must exceed the load balancer's idle timeout, or the
    # load balancer reuses a connection uvicorn has just closed and answers 502 itself (the stacks derive it
    # from the idle timeout: kit_config.agent_schema.FargateAgent.keep_alive_seconds). 5: uvicorn's default.
    # TLS: `self_signed` serves HTTPS with a certificate made at start-up (a load balancer re-encrypting to
    # its targets does not validate their certificates), so bearer tokens are encrypted on that hop too.
    keep_alive_seconds: Annotated[int, Field(ge=1, le=4100)] = 5
    tls: Literal["off", "self_signed"] = "off"
    # uvicorn's event loop and HTTP parser: `uvloop` (uvloop + httptools, C implementations) or `asyncio`
    # (the standard library's loop + the pure-Python h11). `make bench-agent` measures both in one run.
    server_stack: Literal["uvloop", "asyncio"] = "uvloop"

    # Lineage: MLflow tracking URI (server/App ARN on AWS, http://127.0.0.1:5000 locally)
    mlflow_tracking_uri: str | None = None
    mlflow_experiment: str | None = None  # default: "agent-<env_name>"

    # Sessions: S3 (with the bucket's KMS key) on AWS, a local directory otherwise
    session_bucket: str | None = None
    session_prefix: str = "sessions/"
    session_dir: Path = Path(".agent-sessions")

    # Cost estimate: instance $/hour shared by the requests in flight, or a per-token price
    instance_hourly_usd: float | None = None
    concurrent_requests_per_instance: Annotated[float, Field(gt=0)] = 4
    usd_per_1k_output_tokens: float | None = None

    @cached_property
    def system_prompt_template(self) -> str:
        return self.system_prompt_file.read_text(encoding="utf-8")

    @property
    def system_prompt(self) -> str:
        return self.system_prompt_template.format(organisation=self.organisation, environment=self.env_name)

    @property
    def experiment_name(self) -> str:
        return self.mlflow_experiment or f"agent-{self.env_name}"

    def payload_parameters(self) -> dict:
        """What goes into every model request (SageMakerAIModel's payload_config)."""
        parameters = {"max_tokens": self.max_tokens, "temperature": self.temperature, "top_p": self.top_p}
        if self.stop:
            parameters["stop"] = list(self.stop)
        return parameters

    def endpoint_settings(self) -> dict:
        return {
            "endpoint_name": self.endpoint_name,
            "target_variant": self.target_variant,
            "inference_component": self.inference_component,
            "region": self.region,
        }

    @classmethod
    def environment_variables(cls) -> set[str]:
        """Every variable this object reads: what a deployment may (and should only) set."""
        prefix = cls.model_config["env_prefix"]
        return {f"{prefix}{name}".upper() for name in cls.model_fields}
