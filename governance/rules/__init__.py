"""The kit's own governance rules, one per file. Register a new rule in `ALL_RULES`."""

from governance.rules.autoscaled_capacity_retained import AutoscaledCapacityRetained
from governance.rules.bearer_tokens_over_tls import BearerTokensOverTls
from governance.rules.cloudwatch_metric_math import CloudWatchMetricMath
from governance.rules.ecs_writable_scratch import EcsWritableScratch
from governance.rules.iam_matches_service_reference import IamMatchesServiceReference
from governance.rules.image_built_for_its_runtime import ImageBuiltForItsRuntime
from governance.rules.keep_alive_exceeds_idle_timeout import KeepAliveExceedsIdleTimeout
from governance.rules.kms_key_spec_usage import KmsKeySpecUsage
from governance.rules.lambda_environment_customer_key import LambdaEnvironmentCustomerKey
from governance.rules.log_group_encrypted_retained import LogGroupEncryptedRetained
from governance.rules.mlflow_artifact_store import MlflowArtifactStore
from governance.rules.mlflow_maintenance_window import MlflowMaintenanceWindow
from governance.rules.no_open_security_group_rule import NoOpenSecurityGroupRule
from governance.rules.required_tags import RequiredTags
from governance.rules.retain_except_on_create import RetainExceptOnCreate
from governance.rules.runtime_settings_fit import RuntimeSettingsFit
from governance.rules.s3_bucket_baseline import S3BucketBaseline
from governance.rules.sagemaker_endpoint_config_encrypted import SageMakerEndpointConfigEncrypted
from governance.rules.sagemaker_gpu_driver_fits_image import SageMakerGpuDriverFitsImage
from governance.rules.sagemaker_model_after_role_policy import SageMakerModelAfterRolePolicy
from governance.rules.sagemaker_model_isolated import SageMakerModelIsolated
from governance.rules.sagemaker_rollback_alarms_readable import SageMakerRollbackAlarmsReadable
from governance.rules.sagemaker_rollout_step_fits_capacity import SageMakerRolloutStepFitsCapacity
from governance.rules.sagemaker_variant_autoscaled import SageMakerVariantAutoscaled
from governance.rules.scale_to_zero_wakes import ScaleToZeroWakes
from governance.rules.sns_publishers_allowed import SnsPublishersAllowed

ALL_RULES = (
    RequiredTags(),
    LogGroupEncryptedRetained(),
    NoOpenSecurityGroupRule(),
    S3BucketBaseline(),
    SageMakerModelIsolated(),
    SageMakerEndpointConfigEncrypted(),
    SageMakerVariantAutoscaled(),
    BearerTokensOverTls(),
    LambdaEnvironmentCustomerKey(),
    MlflowArtifactStore(),
    MlflowMaintenanceWindow(),
    # Deploy readiness: what CloudFormation accepts but the first deploy or a later update would fail on
    # (docs/deploy-readiness.md).
    RetainExceptOnCreate(),
    SnsPublishersAllowed(),
    SageMakerModelAfterRolePolicy(),
    SageMakerRollbackAlarmsReadable(),
    AutoscaledCapacityRetained(),
    ScaleToZeroWakes(),
    SageMakerRolloutStepFitsCapacity(),
    SageMakerGpuDriverFitsImage(),
    EcsWritableScratch(),
    ImageBuiltForItsRuntime(),
    KmsKeySpecUsage(),
    RuntimeSettingsFit(),
    KeepAliveExceedsIdleTimeout(),
    CloudWatchMetricMath(),
    IamMatchesServiceReference(),
)
