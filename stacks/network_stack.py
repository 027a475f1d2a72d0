"""Per-environment network: the isolated VPC, its service endpoints and flow logs."""

from __future__ import annotations

from aws_cdk import Stack
from constructs import Construct

from kit_config import EnvironmentConfig
from kit_constructs.encryption_keys import EnvironmentKeys
from kit_constructs.isolated_network import IsolatedNetwork, IsolatedNetworkProps
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
