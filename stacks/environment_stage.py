"""One `cdk.Stage` per environment, so `cdk synth|diff|deploy 'dev/*'` address one environment."""

from __future__ import annotations

import re

from aws_cdk import Environment, Stage, Tags
from constructs import Construct

from kit_config import EnvironmentConfig
from stacks.agent_stack import AgentStack
from stacks.foundation_stack import FoundationStack
from stacks.inference_stack import InferenceStack
from stacks.mlflow_stack import MlflowStack
from stacks.network_stack import NetworkStack
from stacks.observability_stack import ObservabilityStack


class EnvironmentStage(Stage):
    def __init__(self, scope: Construct, config: EnvironmentConfig) -> None:
        super().__init__(scope, config.name, env=Environment(account=config.account, region=config.region))
        self.config = config
        # Answer CDK's availability-zone lookup from config (a VPC asks the stack for its AZs),
        # so synth never needs credentials. Must be set before any child construct exists.
        self.node.set_context(
            f"availability-zones:account={config.account}:region={config.region}", config.availability_zones
        )
        stack_options = self._stack_options()
        self._add_platform_stacks(stack_options)
        self._add_agent_stacks(stack_options)
        # Resource-level tags, so they show in the templates CI reviews and the gate checks.
        for key, value in config.tags.as_dict().items():
            Tags.of(self).add(key, value)

    def _stack_options(self) -> dict:
        config = self.config
        return {
            # Retained environments are the ones that must not be deleted by accident.
            "termination_protection": config.removal_policy == "retain",
            # Stack tags must be explicit (@aws-cdk/core:explicitStackTags); CloudFormation
            # propagates them to resources CDK cannot tag itself.
            "tags": {**config.tags.as_dict(), **deployed_commit_tag(self)},
        }

    def _add_platform_stacks(self, stack_options: dict) -> None:
        """Keys and topic, network, the LLM endpoint, MLflow."""
        config = self.config
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

    def _add_agent_stacks(self, stack_options: dict) -> None:
        """The agent runtime, and the dashboard and budget that read the others."""
        config = self.config
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
        self.observability = ObservabilityStack(
            self,
            "Observability",
            config=config,
            foundation=self.foundation,
            inference=self.inference,
            agent=self.agent,
            description=f"{config.tags.Project} {config.name}: operations dashboard and monthly cost budget",
            **stack_options,
        )


DEPLOYED_COMMIT_CONTEXT = "deployed_commit"
DEPLOYED_COMMIT_TAG = "DeployedCommit"


def deployed_commit_tag(scope: Construct) -> dict[str, str]:
    """`{DeployedCommit: <sha>}` when synthesized with `-c deployed_commit=<sha>` (`make deploy` does).

    A stack tag only (the manifest, not the templates), so reviews and snapshots do not change
    with every commit; CloudFormation propagates it to the resources it tags.
    """
    commit = scope.node.try_get_context(DEPLOYED_COMMIT_CONTEXT)
    if commit is None or str(commit) == "":
        return {}
    if not re.fullmatch(r"[0-9a-f]{7,40}", str(commit)):
        raise ValueError(f"-c {DEPLOYED_COMMIT_CONTEXT}={commit!r} is not a git commit id (7-40 hex digits)")
    return {DEPLOYED_COMMIT_TAG: str(commit)}
