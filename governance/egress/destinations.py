"""The egress registry: one small object per client the deployed agent uses, each deriving the host
it calls from the real client library, configured as the agent configures it.

A destination names the probe tasks that drive its code paths (governance/egress/probe.py); the
egress test runs the probe and requires the recorded hosts to be exactly the registry's, task by
task, so a client added to the runtime without an entry here (or an entry no code path uses) fails
it. Destinations the host platform reaches for the agent (Fargate's image pull and log driver) are
not the runtime's code, so no probe task drives them (`tasks` empty); their hosts come from the
same libraries, the task definition and AWS's documentation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from governance.egress.deployment import AgentDeployment


class _Captured(Exception):
    pass


def botocore_host(
    service: str, region: str, operation: str, params: dict, config: dict | None = None, endpoint_url=None
) -> str:
    """The host botocore sends `operation` to: its whole request pipeline (endpoint rulesets, S3
    virtual-hosted addressing, partition DNS suffix), stopped at `before-send`, the last event before
    the HTTP layer (https://boto3.amazonaws.com/v1/documentation/api/latest/guide/events.html)."""
    import botocore.session
    from botocore.config import Config

    session = botocore.session.Session()
    client = session.create_client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id="AKIAEGRESSREGISTRY00",
        aws_secret_access_key="egress-registry-not-a-secret",
        config=Config(**(config or {})),
    )
    seen: list[str] = []

    def capture(request, **_):
        seen.append(urlsplit(request.url).hostname)
        raise _Captured

    client.meta.events.register("before-send", capture)
    try:
        getattr(client, _snake(operation))(**params)
    except _Captured:
        pass
    return seen[0]


def _snake(operation: str) -> str:
    from botocore import xform_name

    return xform_name(operation)


def _bucket_of(uri: str) -> str:
    return urlsplit(uri).netloc


@dataclass(frozen=True)
class Destination:
    """One client's destination: who calls it, through which library, and how its host is derived."""

    name: str
    client: str  # the library and call, as the runtime makes it
    callers: tuple[str, ...]  # agent | agent-lineage | host platform
    tasks: tuple[str, ...]  # the probe tasks that drive its code paths; none: the platform, not our code
    derive: Callable[[AgentDeployment], list[str]] = field(repr=False)
    applies: Callable[[AgentDeployment], bool] = field(default=lambda deployment: True, repr=False)
    source: str = ""  # where the client's behaviour is documented or coded

    def hosts(self, deployment: AgentDeployment) -> list[str]:
        return self.derive(deployment) if self.applies(deployment) else []


def _runtime(deployment: AgentDeployment) -> dict[str, str]:
    return deployment.agent_environment


def _mlflow_host(deployment: AgentDeployment) -> list[str]:
    """sagemaker-mlflow's own rule for the ARN's resource type (mlflow_sagemaker_helpers.py,
    SageMakerMLflowHostMetadataProvider: tracking server -> <region>.experiments.sagemaker.<suffix>,
    MLflow App -> mlflow.sagemaker.<region>.app.<suffix>)."""
    from sagemaker_mlflow.mlflow_sagemaker_helpers import SageMakerMLflowHostMetadataProvider

    provider = SageMakerMLflowHostMetadataProvider()
    provider.set_arn(deployment.tracking_uri)
    return [urlsplit(provider.construct_tracking_server_url()).hostname]


def _ecr_layer_bucket(deployment: AgentDeployment) -> str:
    # "Amazon ECR uses Amazon S3 to store your image layers": prod-<region>-starport-layer-bucket
    # (https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html#ecr-setting-up-s3-gateway).
    return f"prod-{deployment.config.region}-starport-layer-bucket"


_FARGATE = lambda deployment: deployment.host == "fargate"  # noqa: E731

DESTINATIONS: tuple[Destination, ...] = (
    Destination(
        name="model endpoint",
        client="botocore sagemaker-runtime InvokeEndpointWithResponseStream (Strands SageMakerAIModel)",
        callers=("agent",),
        tasks=("model-call",),
        derive=lambda d: [
            botocore_host(
                "sagemaker-runtime",
                _runtime(d)["AGENT_REGION"],
                "InvokeEndpointWithResponseStream",
                {"EndpointName": _runtime(d)["AGENT_ENDPOINT_NAME"], "Body": b"{}"},
            )
        ],
        source="agent_runtime/model.py build_model",
    ),
    Destination(
        name="session bucket",
        client="botocore s3 HeadObject / GetObject / PutObject / DeleteObject: admission, locks, Strands S3SessionManager (one shared client)",
        callers=("agent",),
        tasks=("session-admission", "session-store"),
        derive=lambda d: [
            botocore_host(
                "s3",
                _runtime(d)["AGENT_REGION"],
                "HeadObject",
                {"Bucket": _runtime(d)["AGENT_SESSION_BUCKET"], "Key": "sessions/x/session.json"},
                {"user_agent_extra": "strands-agents"},
            )
        ],
        source="agent_runtime/sessions.py s3_client, session_manager",
    ),
    Destination(
        name="caller-id key",
        client="botocore kms GenerateMac (the caller's pseudonym)",
        callers=("agent",),
        tasks=("caller-id",),
        derive=lambda d: [
            botocore_host(
                "kms",
                _runtime(d)["AGENT_REGION"],
                "GenerateMac",
                {"KeyId": _runtime(d)["AGENT_CALLER_ID_KMS_KEY"], "MacAlgorithm": "HMAC_SHA_256", "Message": b"x"},
            )
        ],
        applies=lambda d: "AGENT_CALLER_ID_KMS_KEY" in d.agent_environment,
        source="agent_runtime/identity.py Pseudonyms.kms",
    ),
    Destination(
        name="MLflow tracking",
        client="mlflow REST via the sagemaker-mlflow plugin (SigV4), tracking URI = the resource's ARN",
        callers=("agent", "agent-lineage"),
        tasks=("tracing-setup", "lineage-cli"),
        derive=_mlflow_host,
        applies=lambda d: "AGENT_MLFLOW_TRACKING_URI" in d.agent_environment,
        source="agent_runtime/lineage.py Lineage.configure, main; sagemaker_mlflow/mlflow_sagemaker_helpers.py",
    ),
    Destination(
        name="MLflow artifact store",
        client="mlflow S3ArtifactRepository (sagemaker-mlflow's S3PresignedArtifactRepository, direct "
        "upload by default): boto3 s3 PutObject / GetObject, signature s3v4, addressing auto",
        callers=("agent", "agent-lineage"),
        tasks=("artifact-store",),
        derive=lambda d: [
            botocore_host(
                "s3",
                d.host_environment()["AWS_DEFAULT_REGION"],  # mlflow's client takes the process's region
                "PutObject",
                {"Bucket": _bucket_of(d.artifact_store_uri), "Key": "mlflow/1/traces/x/artifacts/traces.json"},
                {"signature_version": "s3v4", "s3": {"addressing_style": "auto"}},
            )
        ],
        applies=lambda d: "AGENT_MLFLOW_TRACKING_URI" in d.agent_environment,
        source="mlflow/store/artifact/s3_artifact_repo.py _cached_get_s3_client; sagemaker_mlflow/s3_presigned_artifact_repo.py",
    ),
    Destination(
        name="task-role credentials",
        client="botocore ContainerProvider (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)",
        callers=("agent",),
        tasks=("credentials",),
        derive=lambda d: [__import__("botocore.utils").utils.ContainerMetadataFetcher.IP_ADDRESS],
        applies=_FARGATE,
        source="botocore/utils.py ContainerMetadataFetcher; ECS task IAM roles",
    ),
    Destination(
        name="image pull: registry API",
        client="Fargate agent: ECR GetAuthorizationToken",
        callers=("host platform",),
        tasks=(),
        derive=lambda d: [botocore_host("ecr", d.config.region, "GetAuthorizationToken", {})],
        applies=_FARGATE,
        source="https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html",
    ),
    Destination(
        name="image pull: registry",
        client="Fargate agent: docker registry API of the task definition's image",
        callers=("host platform",),
        tasks=(),
        derive=lambda d: [d.container_image.split("/")[0]],
        applies=_FARGATE,
        source="https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html",
    ),
    Destination(
        name="image pull: layers",
        client="Fargate agent: S3 GetObject on ECR's layer bucket",
        callers=("host platform",),
        tasks=(),
        derive=lambda d: [
            botocore_host("s3", d.config.region, "GetObject", {"Bucket": _ecr_layer_bucket(d), "Key": "layer"})
        ],
        applies=_FARGATE,
        source="https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html#ecr-setting-up-s3-gateway",
    ),
    Destination(
        name="container logs",
        client="Fargate awslogs log driver: CloudWatch Logs PutLogEvents, in the driver's awslogs-region",
        callers=("host platform",),
        tasks=(),
        derive=lambda d: [
            botocore_host(
                "logs",
                d.resolve("Agent", d.container_log_options["awslogs-region"]),
                "PutLogEvents",
                {"logGroupName": "g", "logStreamName": "s", "logEvents": [{"timestamp": 0, "message": "m"}]},
            )
        ],
        applies=lambda d: d.host == "fargate" and d.container_log_options is not None,
        source="https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html",
    ),
)
DESTINATIONS_BY_NAME = {destination.name: destination for destination in DESTINATIONS}
