"""Per-environment agent: the runtime image on Lambda or Fargate, wired to the endpoint and MLflow."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from kit_config import EnvironmentConfig
from kit_constructs.agent_service import DeployedAgent, DeployedAgentProps
from stacks.foundation_stack import FoundationStack, removal_policy
from stacks.inference_stack import InferenceStack
from stacks.mlflow_stack import MlflowStack
from stacks.network_stack import NetworkStack


class AgentStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        foundation: FoundationStack,
        network: NetworkStack,
        inference: InferenceStack,
        mlflow: MlflowStack,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.agent = DeployedAgent(
            self,
            "Agent",
            DeployedAgentProps(
                environment=config,
                network=network.network,
                endpoint=inference.endpoint,
                mlflow=mlflow.tracking,
                storage_key=foundation.keys.storage,
                logs_key=foundation.keys.logs,
                functions_key=foundation.keys.functions,
                caller_ids=foundation.caller_ids,
                access_logs=foundation.access_logs,
                alarm_topic=foundation.alarm_topic,
                log_retention_days=config.log_retention_days,
                removal_policy=removal_policy(config),
            ),
        )
        api = self.agent.compute.api_output
        CfnOutput(self, api.output_id, value=api.url, description=api.description)
        CfnOutput(
            self, "SessionBucket", value=self.agent.session_bucket.bucket_name, description="Agent conversation state"
        )
