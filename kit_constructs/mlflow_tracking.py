"""SageMaker managed MLflow: a tracking server or a serverless MLflow App, with its artifact store.

What protects it. Neither `AWS::SageMaker::MlflowTrackingServer` nor `AWS::SageMaker::MlflowApp`
has VPC or KMS properties: SageMaker runs them in a service-managed VPC. The kit's controls are:

- the artifact store is a `SecureBucket` (customer-managed `storage` key, TLS-only, versioned,
  public access blocked, access-logged, lifecycle from config) that only this construct's service
  role (trusted by `sagemaker.amazonaws.com`) can write, and only under the artifact prefix;
- every MLflow API call is SigV4-signed and authorized by IAM on this server's or app's ARN
  (`grant_tracing`, `grant_read`; never `sagemaker-mlflow:*` on `*`);
- clients in the VPC reach MLflow through the `experiments` interface endpoint, whose endpoint
  policy (`mlflow_endpoint_policy`) admits only this environment's MLflow resource, and the
  `sagemaker.api` endpoint for presigned UI URLs; there is no internet path from the VPC.

Consumers read `tracking_uri` (the ARN, which the `sagemaker-mlflow` plugin accepts as
`MLFLOW_TRACKING_URI`) and `artifact_bucket`, and call the grant methods.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from kit_config.resource_names import mlflow_resource_name  # noqa: F401 (re-exported for stacks)
from kit_config.schema import MlflowAppConfig, MlflowTrackingServerConfig
from kit_constructs.acknowledgments import acknowledge, finding_id, logical_arn, resolved
from kit_constructs.secure_bucket import AccessLogBucket, SecureBucket, SecureBucketProps

# What a Strands agent needs to log traces and runs and register its agent version, as
# `sagemaker-mlflow` actions (Service Authorization Reference, "Amazon SageMaker with MLflow":
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemakerwithmlflow.html).
# Which REST call each action authorizes, and where AWS does not say: kit_constructs/mlflow_actions.py
# (REST_CALLS); tests/kit_constructs/test_mlflow_iam_covers_runtime.py checks every call the runtime makes.
TRACING_ACTIONS = (
    # Lineage.configure(): mlflow.set_experiment (get-by-name, create when missing, get)
    "sagemaker-mlflow:GetExperimentByName",
    "sagemaker-mlflow:GetExperiment",
    "sagemaker-mlflow:CreateExperiment",
    # runs: start/end, params, metrics, tags, dataset inputs/outputs (the runtime starts no run today)
    "sagemaker-mlflow:CreateRun",
    "sagemaker-mlflow:UpdateRun",
    "sagemaker-mlflow:GetRun",
    "sagemaker-mlflow:LogBatch",
    "sagemaker-mlflow:LogMetric",
    "sagemaker-mlflow:LogParam",
    "sagemaker-mlflow:SetTag",
    "sagemaker-mlflow:LogInputs",
    "sagemaker-mlflow:LogOutputs",
    # traces (mlflow.strands.autolog export): StartTraceV3 (both assumed: no v3 action is listed; it
    # replaces the v2 pair) or, on an MLflow 3.0 server, v2 StartTrace + EndTrace; OTLP /v1/traces
    # span logging (>= 3.4 servers; assumed StartTrace). Tag and read back: not called by the runtime.
    "sagemaker-mlflow:StartTrace",
    "sagemaker-mlflow:EndTrace",
    "sagemaker-mlflow:SetTraceTag",
    "sagemaker-mlflow:GetTraceInfo",
    # agent version as an MLflow 3 LoggedModel: search_logged_models, create_external_model
    # (CreateLoggedModel -> LogModel, assumed: no CreateLoggedModel action is listed), finalize,
    # set_active_model (get); params beyond the first 100 and tags after creation
    "sagemaker-mlflow:SearchLoggedModels",
    "sagemaker-mlflow:GetLoggedModel",
    "sagemaker-mlflow:LogModel",
    "sagemaker-mlflow:FinalizeLoggedModel",
    "sagemaker-mlflow:LogLoggedModelParams",
    "sagemaker-mlflow:SetLoggedModelTags",
    # and as a registered model version (mlflow.register_model; not called by the runtime today)
    "sagemaker-mlflow:GetRegisteredModel",
    "sagemaker-mlflow:CreateRegisteredModel",
    "sagemaker-mlflow:CreateModelVersion",
    "sagemaker-mlflow:GetModelVersion",
)

# Reviewers: browse experiments, runs, traces, models and artifacts in the UI or the SDK; no writes.
# `python -m agent_runtime.lineage TRACE_ID` needs GetTraceInfo (GetTraceInfoV3 and GetTrace, assumed)
# and SearchLoggedModels; its artifact downloads read S3 directly (the bucket grant below).
READ_ACTIONS = (
    "sagemaker-mlflow:AccessUI",
    "sagemaker-mlflow:SearchExperiments",
    "sagemaker-mlflow:GetExperiment",
    "sagemaker-mlflow:GetExperimentByName",
    "sagemaker-mlflow:SearchRuns",
    "sagemaker-mlflow:GetRun",
    "sagemaker-mlflow:GetMetricHistory",
    "sagemaker-mlflow:ListArtifacts",
    "sagemaker-mlflow:SearchTraces",
    "sagemaker-mlflow:GetTraceInfo",
    "sagemaker-mlflow:SearchLoggedModels",
    "sagemaker-mlflow:GetLoggedModel",
    "sagemaker-mlflow:ListLoggedModelArtifacts",
    "sagemaker-mlflow:SearchRegisteredModels",
    "sagemaker-mlflow:GetRegisteredModel",
    "sagemaker-mlflow:GetLatestModelVersions",
    "sagemaker-mlflow:SearchModelVersions",
    "sagemaker-mlflow:GetModelVersion",
    "sagemaker-mlflow:GetModelVersionByAlias",
    "sagemaker-mlflow:GetDownloadURIForModelVersionArtifacts",
)

# SageMaker control-plane actions per kind: an MLflow App's API calls also need CallMlflowAppApi;
# presigned UI URLs come from the sagemaker.api endpoint.
_CALL_API = {"app": ("sagemaker:CallMlflowAppApi",), "tracking_server": ()}
_UI = {
    "app": ("sagemaker:DescribeMlflowApp", "sagemaker:CreatePresignedMlflowAppUrl"),
    "tracking_server": ("sagemaker:DescribeMlflowTrackingServer", "sagemaker:CreatePresignedMlflowTrackingServerUrl"),
}

# What the MLflow service role needs for automatic registration in the SageMaker Model Registry.
_MODEL_REGISTRY_ACTIONS = (
    "sagemaker:CreateModelPackageGroup",
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:CreateModelPackage",
    "sagemaker:UpdateModelPackage",
    "sagemaker:DescribeModelPackage",
    "sagemaker:AddTags",
)


def mlflow_resource_arn_pattern(stack: Stack, config: MlflowTrackingServerConfig | MlflowAppConfig, name: str) -> str:
    """This environment's MLflow resource ARN, known before deployment.

    A tracking server's ARN ends in its name. An MLflow App's ARN ends in an id SageMaker
    generates, so it is matched as `mlflow-app/*` in this account and region, and the endpoint
    policy narrows it by the environment's tags.
    """
    prefix = f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}"
    if isinstance(config, MlflowTrackingServerConfig):
        return f"{prefix}:mlflow-tracking-server/{name}"
    return f"{prefix}:mlflow-app/*"


def mlflow_endpoint_policy(
    stack: Stack, config: MlflowTrackingServerConfig | MlflowAppConfig, name: str, tags: dict[str, str]
) -> list[iam.PolicyStatement]:
    """Statements for the `experiments` interface endpoint: this env's MLflow resource only.

    The endpoint policy decides which resources can be reached through the endpoint at all;
    IAM (the grants below) still decides which principal may call which action.
    """
    conditions: dict = {"StringEquals": {"aws:PrincipalAccount": stack.account}}
    if isinstance(config, MlflowAppConfig):
        conditions["StringEquals"].update({f"aws:ResourceTag/{key}": tags[key] for key in ("Project", "Environment")})
    actions = ["sagemaker-mlflow:*"] + list(_CALL_API[config.kind])
    return [
        iam.PolicyStatement(
            sid="ThisEnvironmentsMlflowOnly",
            principals=[iam.AnyPrincipal()],
            actions=actions,
            resources=[mlflow_resource_arn_pattern(stack, config, name)],
            conditions=conditions,
        )
    ]


@dataclass(frozen=True)
class MlflowTrackingProps:
    config: MlflowTrackingServerConfig | MlflowAppConfig
    name: str  # tracking server or app name (see mlflow_resource_name)
    storage_key: kms.IKey
    access_logs: AccessLogBucket
    removal_policy: RemovalPolicy
    noncurrent_version_days: int  # how long overwritten or deleted artifacts stay recoverable


class MlflowTracking(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: MlflowTrackingProps) -> None:
        super().__init__(scope, construct_id)
        config = props.config
        self.kind = config.kind
        self.artifact_prefix = config.artifact_prefix
        stack = Stack.of(self)
        self.artifact_bucket_name = f"{props.name}-mlflow-{stack.account}".lower()
        self.artifact_bucket = SecureBucket(
            self,
            "Artifacts",
            SecureBucketProps(
                key=props.storage_key,
                access_logs=props.access_logs,
                removal_policy=props.removal_policy,
                purpose="mlflow-artifacts",
                expiration_days=config.artifact_retention_days,
                noncurrent_version_days=props.noncurrent_version_days,
                # Named: consumers' tracing grants then carry a literal, reviewable ARN.
                bucket_name=self.artifact_bucket_name,
            ),
        )
        self.role = self._service_role(props)
        artifact_store_uri = self.artifact_bucket.s3_uri(config.artifact_prefix)
        if isinstance(config, MlflowTrackingServerConfig):
            server = sagemaker.CfnMlflowTrackingServer(
                self,
                "TrackingServer",
                tracking_server_name=props.name,
                artifact_store_uri=artifact_store_uri,
                role_arn=self.role.role_arn,
                tracking_server_size=config.size,
                mlflow_version=config.mlflow_version,
                automatic_model_registration=config.automatic_model_registration,
                weekly_maintenance_window_start=config.weekly_maintenance_window_start,
            )
            self.resource = server
            self._arn = server.attr_tracking_server_arn
        else:
            app = sagemaker.CfnMlflowApp(
                self,
                "App",
                name=props.name,
                artifact_store_uri=artifact_store_uri,
                role_arn=self.role.role_arn,
                model_registration_mode="AutoModelRegistrationEnabled"
                if config.automatic_model_registration
                else "AutoModelRegistrationDisabled",
                weekly_maintenance_window_start=config.weekly_maintenance_window_start,
            )
            self.resource = app
            self._arn = app.attr_arn
        # The role's managed policy (attached by the policy resource) must exist before SageMaker
        # validates access to the artifact store; the role itself is already a GetAtt dependency.
        self.resource.node.add_dependency(self.service_policy)
        self.resource.apply_removal_policy(props.removal_policy)

    @property
    def tracking_uri(self) -> str:
        """The server's or app's ARN: `MLFLOW_TRACKING_URI` with the `sagemaker-mlflow` plugin."""
        return self._arn

    @property
    def arn(self) -> str:
        return self._arn

    def grant_tracing(self, grantee: iam.IGrantable) -> iam.Grant:
        """What a Strands agent needs: log traces and runs, register its agent version (TRACING_ACTIONS).

        MLflow clients upload artifacts (trace data, model files) straight to the artifact store,
        so this also allows writing objects under the artifact prefix, with the storage key.
        """
        self.artifact_bucket.grant_write(grantee, f"{self.artifact_prefix}/*")
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(TRACING_ACTIONS) + list(_CALL_API[self.kind]),
            resource_arns=[self._arn],
        )

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Reviewers: read experiments, runs, traces and models (READ_ACTIONS), open the UI, download artifacts."""
        self.artifact_bucket.grant_read(grantee, f"{self.artifact_prefix}/*")
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(READ_ACTIONS) + list(_CALL_API[self.kind]) + list(_UI[self.kind]),
            resource_arns=[self._arn],
        )

    def _service_role(self, props: MlflowTrackingProps) -> iam.Role:
        """The role SageMaker uses for the artifact store: this bucket's prefix and this key only."""
        prefix = props.config.artifact_prefix
        role = iam.Role(
            self,
            "ServiceRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"SageMaker MLflow {props.name}: artifact store access",
        )
        policy = iam.ManagedPolicy(
            self,
            "ServicePolicy",
            description=f"SageMaker MLflow {props.name}: artifact prefix {prefix}/ and the storage key",
            statements=self._service_statements(props),
        )
        role.add_managed_policy(policy)
        self.service_policy = policy
        self._acknowledge_service_policy(policy, props)
        return role

    def _service_statements(self, props: MlflowTrackingProps) -> list[iam.PolicyStatement]:
        """The artifact prefix's objects and listing, the storage key, and (if enabled) the model registry."""
        stack = Stack.of(self)
        bucket = self.artifact_bucket.bucket
        prefix = props.config.artifact_prefix
        statements = [
            iam.PolicyStatement(
                sid="ArtifactObjects",
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                resources=[bucket.arn_for_objects(f"{prefix}/*")],
            ),
            iam.PolicyStatement(
                sid="ArtifactListing",
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [prefix, f"{prefix}/*"]}},
            ),
            iam.PolicyStatement(
                sid="ArtifactBucketLocation",
                actions=["s3:GetBucketLocation"],
                resources=[bucket.bucket_arn],
            ),
            iam.PolicyStatement(
                sid="ArtifactEncryption",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[props.storage_key.key_arn],
            ),
        ]
        if props.config.automatic_model_registration:
            registry = f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}"
            statements.append(
                iam.PolicyStatement(
                    sid="ModelRegistrySync",
                    actions=list(_MODEL_REGISTRY_ACTIONS),
                    resources=[f"{registry}:model-package-group/*", f"{registry}:model-package/*"],
                )
            )
        return statements

    def _acknowledge_service_policy(self, policy: iam.ManagedPolicy, props: MlflowTrackingProps) -> None:
        stack = Stack.of(self)
        bucket = self.artifact_bucket.bucket
        prefix = props.config.artifact_prefix
        reasons = {
            finding_id("AwsSolutions-IAM5", "Resource", f"{logical_arn(bucket)}/{prefix}/*"): (
                "MLflow writes one object per artifact under the artifact prefix with keys it generates "
                "(experiment/run ids); the role is limited to that prefix of this bucket."
            ),
        }
        if props.config.automatic_model_registration:
            for kind in ("model-package-group", "model-package"):
                resource = resolved(self, f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:{kind}/*")
                reasons[finding_id("AwsSolutions-IAM5", "Resource", resource)] = (
                    "Automatic model registration creates one model package group per MLflow registered "
                    "model, named after the model at run time; limited to this account and region."
                )
        acknowledge(policy.node.default_child, reasons)
