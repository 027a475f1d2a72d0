"""One `cdk.Stage` per environment, so `cdk synth|diff|deploy 'dev/*'` address one environment."""

from __future__ import annotations

from aws_cdk import Environment, Stage, Tags
from constructs import Construct

from kit_config import EnvironmentConfig
from stacks.agent_stack import AgentStack
from stacks.foundation_stack import FoundationStack
from stacks.inference_stack import InferenceStack
from stacks.mlflow_stack import MlflowStack
from stacks.network_stack import NetworkStack


class EnvironmentStage(Stage):
    def __init__(self, scope: Construct, config: EnvironmentConfig) -> None:
        super().__init__(scope, config.name, env=Environment(account=config.account, region=config.region))
        self.config = config
        # Answer CDK's availability-zone lookup from config (a VPC asks the stack for its AZs),
        # so synth never needs credentials. Must be set before any child construct exists.
        self.node.set_context(
            f"availability-zones:account={config.account}:region={config.region}", config.availability_zones
        )
        stack_options = {
            # Retained environments are the ones that must not be deleted by accident.
            "termination_protection": config.removal_policy == "retain",
            # Stack tags must be explicit (@aws-cdk/core:explicitStackTags); CloudFormation
            # propagates them to resources CDK cannot tag itself.
            "tags": config.tags.as_dict(),
        }
        self.foundation = FoundationStack(
            self,
            "Foundation",
            config=config,
            description=f"{config.tags.Project} {config.name}: KMS keys, alarm topic, access-log bucket",
            **stack_options,
        )
        self.network = NetworkStack(
            self,
            "Network",
            config=config,
            keys=self.foundation.keys,
            description=f"{config.tags.Project} {config.name}: isolated VPC, PrivateLink endpoints, flow logs",
            **stack_options,
        )
        self.inference = InferenceStack(
            self,
            "Inference",
            config=config,
            foundation=self.foundation,
            network=self.network,
            description=f"{config.tags.Project} {config.name}: SageMaker AI real-time LLM endpoint",
            **stack_options,
        )
        self.mlflow = MlflowStack(
            self,
            "Mlflow",
            config=config,
            keys=self.foundation.keys,
            access_logs=self.foundation.access_logs,
            description=f"{config.tags.Project} {config.name}: SageMaker managed MLflow and its artifact store",
            **stack_options,
        )
        self.agent = AgentStack(
            self,
            "Agent",
            config=config,
            foundation=self.foundation,
            network=self.network,
            inference=self.inference,
            mlflow=self.mlflow,
            description=f"{config.tags.Project} {config.name}: the agent runtime on {config.agent.compute}",
            **stack_options,
        )
        # Resource-level tags, so they show in the templates CI reviews and the gate checks.
        for key, value in config.tags.as_dict().items():
            Tags.of(self).add(key, value)
