"""Per-environment inference: the LLM's SageMaker AI real-time endpoint."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from kit_config import EnvironmentConfig
from kit_constructs.inference_endpoint import InferenceEndpoint, InferenceEndpointProps
from stacks.foundation_stack import FoundationStack, removal_policy
from stacks.network_stack import NetworkStack


class InferenceStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        foundation: FoundationStack,
        network: NetworkStack,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        keys = foundation.keys
        self.endpoint = InferenceEndpoint(
            self,
            "Llm",
            InferenceEndpointProps(
                config=config.inference,
                network=network.network,
                inference_key=keys.inference,
                storage_key=keys.storage,
                logs_key=keys.logs,
                access_logs=foundation.access_logs,
                alarm_topic=foundation.alarm_topic,
                log_retention_days=config.log_retention_days,
                removal_policy=removal_policy(config),
            ),
        )
        CfnOutput(
            self, "EndpointName", value=self.endpoint.endpoint_name, description="SageMaker endpoint the agent invokes"
        )
        for variant, component in self.endpoint.inference_component_handles.items():
            CfnOutput(
                self,
                f"InferenceComponent{variant.capitalize()}",
                value=component.name,
                description=f"Inference component serving variant {variant} (X-Amzn-SageMaker-Inference-Component)",
            )
        CfnOutput(
            self,
            "DataCaptureBucket",
            value=self.endpoint.data_capture_bucket.bucket_name,
            description="Captured requests and responses (prefix capture/)",
        )
