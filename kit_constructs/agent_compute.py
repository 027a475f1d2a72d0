"""What an agent host (Lambda or Fargate) receives and what it offers, whichever runs the agent.

`DeployedAgent` (`kit_constructs.agent_service`) builds what both hosts share and passes it in
`AgentComputeProps`; `agent_compute()` there chooses the host. The stack and DeployedAgent then use
only the `AgentCompute` interface: the API's URL output, the invoke grant, the host's own alarm
metrics. The hosts import this module only, so nothing imports in a circle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from agent_runtime.metrics import NAMESPACE, SERVICE
from kit_config.agent_schema import FargateAgent, LambdaAgent
from kit_constructs.encrypted_log_group import EncryptedLogGroup
from kit_constructs.isolated_network import IsolatedNetwork
from kit_constructs.secure_bucket import AccessLogBucket

METRIC_PERIOD = Duration.minutes(1)


def runtime_metric(
    env_name: str, metric_name: str, statistic: str, *, period: Duration = METRIC_PERIOD
) -> cloudwatch.Metric:
    """One of the runtime's EMF metrics (agent_runtime.metrics) in environment `env_name`."""
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=metric_name,
        statistic=statistic,
        period=period,
        dimensions_map={"Environment": env_name, "service": SERVICE},
    )


@dataclass(frozen=True)
class AgentComputeProps:
    """What a host needs: the agent's config, and what DeployedAgent built for it."""

    project: str
    env_name: str
    config: LambdaAgent | FargateAgent
    network: IsolatedNetwork
    security_group: ec2.ISecurityGroup  # egress to the AWS endpoints and S3 only
    permissions: iam.ManagedPolicy  # attached to the host's role
    log_group: EncryptedLogGroup
    environment: Mapping[str, str]  # the AGENT_* variables
    environment_key: kms.IKey  # encrypts them where the host stores them (a Lambda function's configuration)
    build_context: Path  # the Dockerfile's directory
    access_logs: AccessLogBucket
    removal_policy: RemovalPolicy


@dataclass(frozen=True)
class ApiOutput:
    """The stack output that tells callers where the agent answers."""

    output_id: str
    url: str
    description: str


@dataclass(frozen=True)
class AgentAlarmSpec:
    """One alarm on the agent: its id (kit_config.resource_names.AGENT_ALARM_IDS), metric, threshold."""

    alarm_id: str
    metric: cloudwatch.IMetric
    threshold: float
    description: str


@runtime_checkable
class AgentCompute(Protocol):
    """The interface both hosts implement."""

    @property
    def api_output(self) -> ApiOutput: ...

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let `grantee` call the agent (a dropped grant where callers are admitted by network)."""
        ...

    def host_alarms(self) -> list[AgentAlarmSpec]:
        """Alarms on the host's own metrics, besides the runtime's (errors, throttles, latency)."""
        ...
