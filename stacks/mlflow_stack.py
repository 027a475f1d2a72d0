"""Per-environment SageMaker managed MLflow: tracking server or MLflow App, and its artifact store."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from kit_config import EnvironmentConfig
from kit_constructs.encryption_keys import EnvironmentKeys
from kit_constructs.mlflow_tracking import MlflowTracking, MlflowTrackingProps, mlflow_resource_name
from kit_constructs.secure_bucket import AccessLogBucket
from stacks.foundation_stack import removal_policy


class MlflowStack(Stack):
    """Consumers (the agent stack) receive `tracking` (an `MlflowTracking`): `tracking_uri`,
    `artifact_bucket`, `grant_tracing(...)`, `grant_read(...)`. The outputs are for humans."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        keys: EnvironmentKeys,
        access_logs: AccessLogBucket,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.tracking = MlflowTracking(
            self,
            "Mlflow",
            MlflowTrackingProps(
                config=config.mlflow,
                name=mlflow_resource_name(config.tags.Project, config.name),
                storage_key=keys.storage,
                access_logs=access_logs,
                removal_policy=removal_policy(config),
                # Overwritten or deleted artifacts stay recoverable as long as the logs that show
                # who changed them (the environment's retention).
                noncurrent_version_days=config.log_retention_days,
            ),
        )
        CfnOutput(
            self,
            "TrackingUri",
            value=self.tracking.tracking_uri,
            description="MLFLOW_TRACKING_URI for the sagemaker-mlflow plugin (the tracking server's or app's ARN)",
        )
        CfnOutput(
            self,
            "ArtifactBucketName",
            value=self.tracking.artifact_bucket.bucket_name,
            description=f"MLflow artifact store (prefix {config.mlflow.artifact_prefix}/)",
        )
