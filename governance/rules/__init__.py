"""The kit's own governance rules, one per file. Register a new rule in `ALL_RULES`."""

from governance.rules.log_group_encrypted_retained import LogGroupEncryptedRetained
from governance.rules.mlflow_artifact_store import MlflowArtifactStore
from governance.rules.mlflow_maintenance_window import MlflowMaintenanceWindow
from governance.rules.no_open_security_group_rule import NoOpenSecurityGroupRule
from governance.rules.required_tags import RequiredTags
from governance.rules.s3_bucket_baseline import S3BucketBaseline
from governance.rules.sagemaker_endpoint_config_encrypted import SageMakerEndpointConfigEncrypted
from governance.rules.sagemaker_model_isolated import SageMakerModelIsolated
from governance.rules.sagemaker_variant_autoscaled import SageMakerVariantAutoscaled

ALL_RULES = (
    RequiredTags(),
    LogGroupEncryptedRetained(),
    NoOpenSecurityGroupRule(),
    S3BucketBaseline(),
    SageMakerModelIsolated(),
    SageMakerEndpointConfigEncrypted(),
    SageMakerVariantAutoscaled(),
    MlflowArtifactStore(),
    MlflowMaintenanceWindow(),
)
