"""Per-environment network: the isolated VPC, its service endpoints and flow logs."""

from __future__ import annotations

from aws_cdk import Stack
from constructs import Construct

from kit_config import EnvironmentConfig
from kit_constructs.encryption_keys import EnvironmentKeys
from kit_constructs.isolated_network import AwsService, IsolatedNetwork, IsolatedNetworkProps
from kit_constructs.mlflow_tracking import mlflow_endpoint_policy, mlflow_resource_name
from stacks.foundation_stack import removal_policy


class NetworkStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, keys: EnvironmentKeys, **kwargs
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.network = IsolatedNetwork(
            self,
            "Network",
            IsolatedNetworkProps(
                network=config.network,
                availability_zones=config.availability_zones,
                vpc_cidr=config.vpc_cidr,
                flow_log_key=keys.logs,
                log_retention_days=config.log_retention_days,
                removal_policy=removal_policy(config),
                s3_prefix_list_id=config.network.s3_prefix_list_id,
            ),
        )
        # Only this environment's MLflow server or app is reachable through the MLflow endpoint.
        # Built from config (the ARN is known before deployment), so this stack does not depend
        # on the Mlflow stack.
        # A reused MLflow endpoint keeps the policy its owners gave it (docs/deploy-readiness.md).
        experiments = self.network.endpoints.get(AwsService.MLFLOW_EXPERIMENTS)
        for statement in (
            []
            if experiments is None
            else mlflow_endpoint_policy(
                self, config.mlflow, mlflow_resource_name(config.tags.Project, config.name), config.tags.as_dict()
            )
        ):
            experiments.add_to_policy(statement)
