"""The agent runtime deployed privately: on Lambda or Fargate, from the repo's one Dockerfile.

Shared by both compute models: the session bucket, the agent's security group (egress only to
the AWS endpoints and S3), its role with a customer-managed policy built only from the other
constructs' grants (`grant_invoke`, `grant_tracing`, the session prefix), the encrypted log
group, the AGENT_* environment the runtime's settings object reads, and the alarms.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from kit_config import EnvironmentConfig
from kit_config.agent_schema import FargateAgent, LambdaAgent
from kit_config.project import PROJECT_DIR  # the Dockerfile's build context
from kit_config.resource_names import agent_alarm_name
from kit_config.runtime_environment import runtime_environment
from kit_constructs.acknowledgments import acknowledge, finding_id, logical_arn
from kit_constructs.agent_compute import METRIC_PERIOD, AgentAlarmSpec, AgentCompute, AgentComputeProps, runtime_metric
from kit_constructs.agent_fargate import FargateCompute
from kit_constructs.agent_lambda import LambdaCompute
from kit_constructs.alarms import notifying_alarm
from kit_constructs.caller_id_key import CallerIdKey
from kit_constructs.encrypted_log_group import EncryptedLogGroup, EncryptedLogGroupProps
from kit_constructs.inference_endpoint import InferenceEndpoint
from kit_constructs.isolated_network import IsolatedNetwork
from kit_constructs.mlflow_tracking import MlflowTracking
from kit_constructs.secure_bucket import AccessLogBucket, SecureBucket, SecureBucketProps


@dataclass(frozen=True)
class DeployedAgentProps:
    environment: EnvironmentConfig  # the runtime's settings come from the whole env (endpoint, prices)
    network: IsolatedNetwork
    endpoint: InferenceEndpoint
    mlflow: MlflowTracking
    storage_key: kms.IKey
    logs_key: kms.IKey
    functions_key: kms.IKey  # a Lambda host's environment variables (EnvironmentKeys.functions)
    caller_ids: CallerIdKey  # pseudonymous caller ids for traces and session ownership
    access_logs: AccessLogBucket
    alarm_topic: sns.ITopic
    log_retention_days: int
    removal_policy: RemovalPolicy

    @property
    def config(self) -> LambdaAgent | FargateAgent:
        return self.environment.agent

    @property
    def env_name(self) -> str:
        return self.environment.name

    @property
    def project(self) -> str:
        return self.environment.tags.Project


class DeployedAgent(Construct):
    """The agent runtime deployed in one environment: what both hosts share, and the host `agent.compute` picks."""

    def __init__(self, scope: Construct, construct_id: str, props: DeployedAgentProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        self.session_bucket = SecureBucket(
            self,
            "Sessions",
            SecureBucketProps(
                key=props.storage_key,
                access_logs=props.access_logs,
                removal_policy=props.removal_policy,
                purpose="agent-sessions",
                expiration_days=props.log_retention_days,
            ),
        )
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=props.network.vpc,
            description=f"{props.project} {props.env_name} agent: egress to AWS endpoints and S3 only",
            allow_all_outbound=False,
        )
        props.network.allow_endpoint_access(self.security_group)
        props.network.allow_s3_access(self.security_group)
        self.log_group = EncryptedLogGroup(
            self,
            "Logs",
            EncryptedLogGroupProps(
                key=props.logs_key, retention_days=props.log_retention_days, removal_policy=props.removal_policy
            ),
        )
        self.permissions = self._permissions(props)
        self.environment = runtime_environment(
            props.environment,
            mlflow_tracking_uri=props.mlflow.tracking_uri,
            session_bucket=self.session_bucket.bucket_name,
            caller_id_kms_key=props.caller_ids.key_arn,
        )

        self.compute = agent_compute(
            self,
            AgentComputeProps(
                project=props.project,
                env_name=props.env_name,
                config=props.config,
                network=props.network,
                security_group=self.security_group,
                permissions=self.permissions,
                log_group=self.log_group,
                environment=self.environment,
                environment_key=props.functions_key,
                build_context=PROJECT_DIR,
                access_logs=props.access_logs,
                removal_policy=props.removal_policy,
            ),
        )
        self.alarms = self._alarms()

    def _permissions(self, props: DeployedAgentProps) -> iam.ManagedPolicy:
        """Everything the agent may do, from the other constructs' grants; no IAM written here."""
        permissions = iam.ManagedPolicy(
            self, "Permissions", description=f"{props.project} {props.env_name} agent runtime"
        )
        props.endpoint.grant_invoke(permissions)
        props.mlflow.grant_tracing(permissions)
        self.session_bucket.grant_read_write(permissions, f"{props.config.session_prefix}*")
        self._acknowledge_prefix_grants(props, permissions)
        props.caller_ids.grant_generate_mac(permissions)
        return permissions

    def _acknowledge_prefix_grants(self, props: DeployedAgentProps, permissions: iam.ManagedPolicy) -> None:
        sessions = logical_arn(self.session_bucket.bucket)
        mlflow_artifacts = (
            f"arn:<AWS::Partition>:s3:::{props.mlflow.artifact_bucket_name}/{props.mlflow.artifact_prefix}/*"
        )
        reasons = {
            finding_id("AwsSolutions-IAM5", "Resource", f"{sessions}/{props.config.session_prefix}*"): (
                "Strands' session manager keeps one object per session, agent and message under the session prefix, "
                "with ids generated at run time; limited to that prefix of the agent's own bucket."
            ),
            # The artifact bucket is named, so its ARN is a literal here (see MlflowTracking).
            finding_id("AwsSolutions-IAM5", "Resource", mlflow_artifacts): (
                "MLflow clients upload trace and model artifacts under the artifact prefix with keys MLflow generates; "
                "write-only, limited to that prefix."
            ),
        }
        acknowledge(permissions, reasons)

    # -- metrics: the runtime's EMF metrics (the alarms and the operations dashboard read these) --

    def metric(self, metric_name: str, statistic: str, *, period: Duration = METRIC_PERIOD) -> cloudwatch.Metric:
        return runtime_metric(self.props.env_name, metric_name, statistic, period=period)

    def metric_requests(self, *, period: Duration = METRIC_PERIOD) -> cloudwatch.Metric:
        return self.metric("Requests", "Sum", period=period)

    def metric_errors(self, *, period: Duration = METRIC_PERIOD) -> cloudwatch.Metric:
        """Requests that failed (5xx)."""
        return self.metric("Errors", "Sum", period=period)

    def metric_throttled(self, *, period: Duration = METRIC_PERIOD) -> cloudwatch.Metric:
        """Requests the endpoint throttled (429)."""
        return self.metric("Throttled", "Sum", period=period)

    def metric_latency(self, statistic: str, *, period: Duration = METRIC_PERIOD) -> cloudwatch.Metric:
        """A turn's latency in ms (`statistic`: p50, p95, ...)."""
        return self.metric("Latency", statistic, period=period)

    def _alarms(self) -> list[cloudwatch.Alarm]:
        """From the runtime's own EMF metrics, the same for both compute models."""
        config, env_name = self.props.config.alarms, self.props.env_name

        five_minutes = Duration.minutes(5)
        defined = [
            AgentAlarmSpec(
                "Errors",
                self.metric_errors(period=five_minutes),
                config.errors_per_5_minutes,
                "agent requests failed (5xx)",
            ),
            AgentAlarmSpec(
                "Throttles",
                self.metric_throttled(period=five_minutes),
                config.throttles_per_5_minutes,
                "agent requests throttled by the endpoint (429)",
            ),
            AgentAlarmSpec(
                "LatencyP95",
                self.metric_latency("p95", period=five_minutes),
                config.latency_p95_ms,
                f"p95 agent latency above {config.latency_p95_ms} ms",
            ),
            *self.compute.host_alarms(),
        ]
        return [
            notifying_alarm(
                self,
                f"{spec.alarm_id}Alarm",
                alarm_name=agent_alarm_name(self.props.project, env_name, spec.alarm_id),
                description=f"{self.props.project} {env_name}: {spec.description}",
                metric=spec.metric,
                threshold=spec.threshold,
                evaluation_periods=1,
                topic=self.props.alarm_topic,
            )
            for spec in defined
        ]


def agent_compute(scope: Construct, props: AgentComputeProps) -> AgentCompute:
    """The host the config chooses: the one place that tells Lambda from Fargate."""
    if isinstance(props.config, LambdaAgent):
        return LambdaCompute(scope, "Lambda", props)
    return FargateCompute(scope, "Fargate", props)
