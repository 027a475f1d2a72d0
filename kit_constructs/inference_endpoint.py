"""A SageMaker AI real-time inference endpoint for an LLM, built on the L1s.

Per variant: a `CfnModel` (LMI container, weights from S3, network isolation, VPC config into the
isolated subnets with the model's own security group), then one `CfnEndpointConfig` (least-
outstanding-requests routing, KMS on EBS storage where the instance type has EBS) and a
`CfnEndpoint`. A variant either serves its model itself (data capture to a KMS-encrypted
SecureBucket, blue/green rollout with alarm rollback, instance autoscaling) or hosts it as a
`CfnInferenceComponent` on managed instance scaling (rolling update per copy with alarm rollback,
copy autoscaling, optionally scale to zero with the scale-out-from-zero step policy). CloudWatch
alarms go to the alarm topic; `find_variant` / `find_inference_component` / `serving` return
handles with the `metric_*` methods. Consumers call `grant_invoke(principal)`; nobody writes IAM
for the endpoint by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Stack, TimeZone
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from constructs import Construct

from kit_config.inference_schema import InferenceConfig, Variant
from kit_constructs.acknowledgments import acknowledge, finding_id, logical_arn, resolved
from kit_constructs.alarms import notifying_alarm
from kit_constructs.encrypted_log_group import EncryptedLogGroup, EncryptedLogGroupProps
from kit_constructs.endpoint_metrics import InferenceComponentHandle, ProductionVariantHandle
from kit_constructs.isolated_network import IsolatedNetwork
from kit_constructs.secure_bucket import AccessLogBucket, SecureBucket, SecureBucketProps

INVOKE_ACTIONS = ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"]
# Scale out from zero: the alarm's period over NoCapacityInvocationFailures (a standard-resolution
# metric, so 60 s is its finest; "Scale an endpoint to zero instances",
# https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-zero-instances.html).
SCALE_OUT_FROM_ZERO_PERIOD_SECONDS = 60
# The step policy's cooldown: longer than a copy takes to start from zero (about 5 minutes for an 8B model,
# 6 for 70B in AWS's launch measurements). An alarm re-invokes an Auto Scaling action every period it stays
# in ALARM (CloudWatch "Alarm actions"), and callers keep failing until the copy is up; within the cooldown
# the copy already added counts toward the next +1 (Application Auto Scaling step scaling "Cooldown"), after
# it each re-invocation adds one more. The guide's 60 s would wake dev with max_copies copies and instances.
# Enforced by Kit-ScaleToZeroWakes (docs/deploy-readiness.md C5).
SCALE_OUT_FROM_ZERO_COOLDOWN_SECONDS = 600
_IMAGE_URI = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/(?P<repository>[^:@]+)"
)
_ROUTING = {"all_at_once": "ALL_AT_ONCE", "canary": "CANARY", "linear": "LINEAR"}


def lmi_image_uri(region: str, version: str) -> str:
    """The AWS LMI (DJL) serving image for `region`, from the sagemaker SDK's offline URI tables."""
    from kit_config.serving_image import lmi_image_uri as from_sdk_table  # no SDK import (synth time)

    return from_sdk_table(region, version)


def lmi_environment(variant: Variant) -> dict[str, str]:
    """LMI settings that serve the OpenAI-compatible chat-completions API with tool calling (vLLM)."""
    model = variant.model
    return {
        "HF_MODEL_ID": "/opt/ml/model" if model.s3_uri else model.hf_model_id,
        # vLLM async mode (LMI's default for vLLM since v17) runs vLLM's own chat-completions code, which
        # sends the streamed usage chunk the agent asks for; the older rolling-batch mode
        # (OPTION_ROLLING_BATCH=vllm) never does, so token counts and cost metrics would read 0
        # (djl-serving: djl_python/lmi_vllm/vllm_async_service.py, output_formatter.py; LMI vLLM user guide).
        "OPTION_ASYNC_MODE": "true",
        "OPTION_ROLLING_BATCH": "disable",
        "OPTION_ENTRYPOINT": "djl_python.lmi_vllm.vllm_async_service",
        # "max" is every GPU the container sees: the instance's, or the accelerators a component's copy gets.
        "OPTION_TENSOR_PARALLEL_DEGREE": str(
            variant.inference_component.accelerators
            if variant.inference_component and model.tensor_parallel_degree == "max"
            else model.tensor_parallel_degree
        ),
        "OPTION_MAX_MODEL_LEN": str(model.max_model_len),
        # Strands sends `tools`; vLLM only returns `tool_calls` with auto tool choice and a parser.
        "OPTION_ENABLE_AUTO_TOOL_CHOICE": "true",
        "OPTION_TOOL_CALL_PARSER": model.tool_call_parser,
    }


@dataclass(frozen=True)
class InferenceEndpointProps:
    config: InferenceConfig
    network: IsolatedNetwork
    inference_key: kms.IKey  # EBS ML storage volumes
    storage_key: kms.IKey  # data capture bucket and captured payloads
    logs_key: kms.IKey
    access_logs: AccessLogBucket
    alarm_topic: sns.ITopic
    log_retention_days: int
    removal_policy: RemovalPolicy


class InferenceEndpoint(Construct):
    """The endpoint, its models (own or as inference components), autoscaling, alarms and rollout."""

    def __init__(self, scope: Construct, construct_id: str, props: InferenceEndpointProps) -> None:
        super().__init__(scope, construct_id)
        config = props.config
        stack = Stack.of(self)
        self.config = config
        self.endpoint_name = config.endpoint_name
        self.endpoint_arn = stack.format_arn(
            service="sagemaker", resource="endpoint", resource_name=config.endpoint_name.lower()
        )
        self.image_uri = config.image or lmi_image_uri(stack.region, config.lmi_version)
        self.hosts_components = config.hosts_inference_components
        # Handles first: the alarms, the dashboard and the grants read them.
        self.variants = {v.name: ProductionVariantHandle(config.endpoint_name, v.name) for v in config.variants}
        self.inference_component_handles = {
            v.name: InferenceComponentHandle(v.component_name(config.endpoint_name), v.name)
            for v in config.variants
            if v.inference_component is not None
        }
        self.inference_component_arns = [
            stack.format_arn(service="sagemaker", resource="inference-component", resource_name=handle.name.lower())
            for handle in self.inference_component_handles.values()
        ]

        self.security_group = self._security_group(props)
        self.log_group = self._container_logs(props)
        self.data_capture_bucket = self._data_capture_bucket(props)
        self.execution_policy = self._execution_policy(props)
        self.execution_role = self._execution_role(props)
        self.models = {variant.name: self._model(variant, props) for variant in config.variants}
        self.endpoint_config = self._endpoint_config(props)
        self.alarms, self.rollback_alarms = self._alarms(props)
        if self.rollback_alarms:
            # Deployment guardrails read the rollback alarms as the execution role
            # (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html).
            # Enforced by Kit-SageMakerRollbackAlarmsReadable.
            self.execution_policy.add_statements(
                iam.PolicyStatement(
                    sid="ReadRollbackAlarms",
                    actions=["cloudwatch:DescribeAlarms"],
                    resources=[alarm.alarm_arn for alarm in self.rollback_alarms],
                )
            )
        self.endpoint = self._endpoint()
        self.inference_components = {
            variant.name: self._inference_component(variant)
            for variant in config.variants
            if variant.inference_component
        }
        self.scalable_targets = self._autoscaling()
        self.scale_out_from_zero_alarms = {
            variant.name: self._scale_out_from_zero(variant.name, self.scalable_targets[variant.name])
            for variant in config.variants
            if variant.inference_component and variant.inference_component.scales_to_zero
        }

    @property
    def _update_rolls_back(self) -> bool:
        """Whether an update watches alarms: the endpoint's blue/green (not strategy none), or a component's
        rolling update. A component's default update (all_at_once: blue/green of every copy) takes no alarms:
        its DeploymentConfig requires a RollingUpdatePolicy (API_InferenceComponentDeploymentConfig)."""
        strategy = self.config.deployment.strategy
        return strategy == "rolling" if self.hosts_components else strategy != "none"

    # -- handles (aws-cdk's findInstanceProductionVariant) ----------------------------------------

    def find_variant(self, name: str) -> ProductionVariantHandle:
        """The production variant `name`, with its metrics (dimensions EndpointName, VariantName)."""
        return self.variants[name]

    def find_inference_component(self, variant_name: str) -> InferenceComponentHandle:
        """The inference component on variant `variant_name`, with its metrics (InferenceComponentName)."""
        return self.inference_component_handles[variant_name]

    def serving(self, variant_name: str) -> ProductionVariantHandle | InferenceComponentHandle:
        """What serves the variant's model: its inference component if it has one, else the variant.

        An inference component's invocations are reported per InferenceComponentName; the variant's own
        dimensions then carry only its instances (monitoring-cloudwatch.html).
        """
        return self.inference_component_handles.get(variant_name) or self.variants[variant_name]

    def _security_group(self, props: InferenceEndpointProps) -> ec2.SecurityGroup:
        """The models' security group: egress to the AWS interface endpoints and S3 only."""
        security_group = ec2.SecurityGroup(
            self,
            "ModelSecurityGroup",
            vpc=props.network.vpc,
            description=f"SageMaker model containers of {props.config.endpoint_name}: egress to AWS endpoints and S3 only",
            allow_all_outbound=False,
        )
        props.network.allow_endpoint_access(security_group)
        props.network.allow_s3_access(security_group)
        return security_group

    def _container_logs(self, props: InferenceEndpointProps) -> EncryptedLogGroup:
        # SageMaker writes container logs to this fixed name; creating it first makes it encrypted and retained.
        # Inference components' containers log under the endpoint's group too (one stream per copy).
        return EncryptedLogGroup(
            self,
            "ContainerLogs",
            EncryptedLogGroupProps(
                key=props.logs_key,
                retention_days=props.log_retention_days,
                removal_policy=props.removal_policy,
                log_group_name=f"/aws/sagemaker/Endpoints/{props.config.endpoint_name}",
            ),
        )

    def _data_capture_bucket(self, props: InferenceEndpointProps) -> SecureBucket:
        return SecureBucket(
            self,
            "DataCapture",
            SecureBucketProps(
                key=props.storage_key,
                access_logs=props.access_logs,
                removal_policy=props.removal_policy,
                purpose="data-capture",
                expiration_days=props.config.data_capture.capture_days,
            ),
        )

    def _endpoint(self) -> sagemaker.CfnEndpoint:
        config = self.config
        return sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=config.endpoint_name,
            endpoint_config_name=self.endpoint_config.attr_endpoint_config_name,
            # strategy none: one update without guardrails, to add, remove or rename a variant (guardrails require
            # the same variant names; release/update_hazards.py reports it and the procedure).
            # An endpoint of inference components rolls its models out per component (each one's
            # DeploymentConfig); the endpoint's own blue/green applies to variants with a model.
            deployment_config=None
            if config.deployment.strategy == "none" or self.hosts_components
            else self._deployment_config(),
            # Without this every EndpointConfig change resets live capacity to InitialInstanceCount
            # (prod would drop from its scaled-out count to 2 mid-rollout). Weights and data capture
            # follow config ("Update endpoints that use auto scaling",
            # https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html). DataCaptureConfig
            # cannot be excluded ("Not currently supported", API_VariantProperty.html).
            # Enforced by Kit-AutoscaledCapacityRetained.
            retain_all_variant_properties=True,
            exclude_retained_variant_properties=[
                sagemaker.CfnEndpoint.VariantPropertyProperty(variant_property_type="DesiredWeight")
            ],
        )

    def _autoscaling(self) -> dict[str, appscaling.ScalableTarget]:
        """A scalable target per registered variant (or its component); the deregistered ones are acknowledged."""
        config = self.config
        targets = {
            variant.name: self._scalable_target(variant)
            for variant in config.variants
            if variant.autoscaling.registered
        }
        unregistered = [variant.name for variant in config.variants if not variant.autoscaling.registered]
        # Changing an autoscaled variant's instance type, or removing it, fails while it is a registered
        # scalable target: config deregisters it for one deploy first (docs/deploy.md, release/update_hazards.py).
        acknowledge(
            self.endpoint,
            {
                finding_id("Kit-SageMakerVariantAutoscaled", "NoScalableTarget", name): (
                    f"Variant {name} is deregistered from autoscaling (autoscaling.registered: false) for an "
                    "instance-type change or its removal; SageMaker rejects either while the variant is a scalable target."
                )
                for name in unregistered
            },
        )
        return targets

    # -- grants -------------------------------------------------------------------------------

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Exactly InvokeEndpoint and InvokeEndpointWithResponseStream on this endpoint and its components.

        A request that names an inference component is authorized against the component's ARN too (the
        actions' optional `inference-component` resource type, Service Authorization Reference for SageMaker).
        """
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=INVOKE_ACTIONS, resource_arns=[self.endpoint_arn, *self.inference_component_arns]
        )

    # -- parts ----------------------------------------------------------------------------------

    def _execution_policy(self, props: InferenceEndpointProps) -> iam.ManagedPolicy:
        """Least privilege for the models: image, logs, metrics, network interfaces, weights, capture."""
        stack = Stack.of(self)
        config = props.config
        policy = iam.ManagedPolicy(
            self,
            "ExecutionPolicy",
            description=f"Least privilege for the models behind {config.endpoint_name}",
            statements=[
                *self._image_and_log_statements(),
                *self._network_statements(props.network),
                *_weights_statements(stack, config),
            ],
        )
        # Data capture: SageMaker writes captured payloads as this role, encrypted with the storage key.
        self.data_capture_bucket.grant_write(policy, "capture/*")
        self._acknowledge_execution_policy(policy, config)
        return policy

    def _execution_role(self, props: InferenceEndpointProps) -> iam.Role:
        stack = Stack.of(self)
        role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal(
                "sagemaker.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description=f"Execution role of the models behind {props.config.endpoint_name}",
        )
        self.execution_policy.attach_to_role(role)
        return role

    def _image_and_log_statements(self) -> list[iam.PolicyStatement]:
        """Pull the serving image, write the containers' logs, publish the instance metrics."""
        stack = Stack.of(self)
        image = _IMAGE_URI.match(self.image_uri)
        repository_arn = (
            f"arn:{stack.partition}:ecr:{image['region']}:{image['account']}:repository/{image['repository']}"
        )
        return [
            iam.PolicyStatement(
                sid="PullServingImage",
                actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                resources=[repository_arn],
            ),
            iam.PolicyStatement(sid="EcrAuthorization", actions=["ecr:GetAuthorizationToken"], resources=["*"]),
            iam.PolicyStatement(
                sid="WriteContainerLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources=[self.log_group.log_group_arn],
            ),
            # The instance metrics (GPUUtilization, GPUMemoryUtilization, CPU, disk) are published as this role
            # into /aws/sagemaker/Endpoints: AWS's minimum execution-role policy lists cloudwatch:PutMetricData
            # ("CreateModel API: Execution Role Permissions",
            # https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-createmodel-perms).
            # Without it the GPU-memory alarm (missing data: not breaching) stays OK forever. PutMetricData has
            # no resource-level permissions; the cloudwatch:namespace condition keeps it to SageMaker's namespaces.
            iam.PolicyStatement(
                sid="PublishInstanceMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
            ),
        ]

    def _network_statements(self, network: IsolatedNetwork) -> list[iam.PolicyStatement]:
        """VpcConfig: SageMaker creates the model's network interfaces in our subnets as this role."""
        stack = Stack.of(self)
        subnet_arns = [
            stack.format_arn(service="ec2", resource="subnet", resource_name=subnet.subnet_id)
            for subnet in network.vpc.select_subnets(**_selection(network.subnets)).subnets
        ]
        any_interface = self._any_network_interface()
        return [
            iam.PolicyStatement(
                sid="CreateModelNetworkInterfaces",
                actions=["ec2:CreateNetworkInterface"],
                resources=[
                    *subnet_arns,
                    any_interface,
                    stack.format_arn(
                        service="ec2", resource="security-group", resource_name=self.security_group.security_group_id
                    ),
                ],
            ),
            iam.PolicyStatement(
                sid="ManageModelNetworkInterfaces",
                actions=[
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                ],
                resources=[any_interface],
                conditions={
                    "ArnEquals": {
                        "ec2:Vpc": stack.format_arn(service="ec2", resource="vpc", resource_name=network.vpc.vpc_id)
                    }
                },
            ),
            iam.PolicyStatement(
                sid="DescribeNetwork",
                actions=[
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeVpcs",
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                ],
                resources=["*"],
            ),
        ]

    def _any_network_interface(self) -> str:
        return Stack.of(self).format_arn(service="ec2", resource="network-interface", resource_name="*")

    def _acknowledge_execution_policy(self, policy: iam.ManagedPolicy, config: InferenceConfig) -> None:
        stack = Stack.of(self)
        findings = {
            finding_id("AwsSolutions-IAM5", "Resource", "*"): (
                "ecr:GetAuthorizationToken, cloudwatch:PutMetricData (limited to /aws/sagemaker/* namespaces) and "
                "the ec2:Describe* calls SageMaker makes for VpcConfig support no resource-level permissions."
            ),
            finding_id("AwsSolutions-IAM5", "Resource", resolved(self, self._any_network_interface())): (
                "The model's network interfaces do not exist before SageMaker creates them; creation is limited "
                "to this VPC's subnets and security group, and management to interfaces in this VPC."
            ),
        }
        for bucket, prefixes in _model_prefixes(config).items():
            for prefix in prefixes:
                weights = resolved(self, f"arn:{stack.partition}:s3:::{bucket}/{prefix}*")
                findings[finding_id("AwsSolutions-IAM5", "Resource", weights)] = (
                    "Reads every object under the model's weights prefix; SageMaker downloads the whole prefix at startup."
                )
        capture = f"{logical_arn(self.data_capture_bucket.bucket)}/capture/*"
        findings[finding_id("AwsSolutions-IAM5", "Resource", capture)] = (
            "Writes captured requests and responses under the capture/ prefix of its own bucket only."
        )
        acknowledge(policy, findings)

    def _model(self, variant: Variant, props: InferenceEndpointProps) -> sagemaker.CfnModel:
        model = variant.model
        container = sagemaker.CfnModel.ContainerDefinitionProperty(
            image=self.image_uri,
            mode="SingleModel",
            environment=lmi_environment(variant),
            model_data_source=sagemaker.CfnModel.ModelDataSourceProperty(
                s3_data_source=sagemaker.CfnModel.S3DataSourceProperty(
                    s3_uri=model.s3_uri, s3_data_type="S3Prefix", compression_type="None"
                )
            )
            if model.s3_uri
            else None,
        )
        resource = sagemaker.CfnModel(
            self,
            f"Model{_alnum(variant.name)}",
            execution_role_arn=self.execution_role.role_arn,
            primary_container=container,
            enable_network_isolation=model.network_isolation,
            vpc_config=sagemaker.CfnModel.VpcConfigProperty(
                security_group_ids=[self.security_group.security_group_id],
                subnets=props.network.vpc.select_subnets(**_selection(props.network.subnets)).subnet_ids,
            ),
        )
        # The role's policy must be attached before CreateModel: SageMaker validates the role's access to the
        # image and weights then. The policy is a sibling of the role, so depending on the role is not enough.
        # Enforced by Kit-SageMakerModelAfterRolePolicy.
        resource.node.add_dependency(self.execution_policy)
        return resource

    def _endpoint_config(self, props: InferenceEndpointProps) -> sagemaker.CfnEndpointConfig:
        config = props.config
        all_nvme = all(variant.spec.local_nvme_storage for variant in config.variants)
        components = self.hosts_components
        endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "EndpointConfig",
            # Instance-store (NVMe) volumes are hardware-encrypted and SageMaker rejects KmsKeyId
            # for them; EBS-backed types get the inference key.
            kms_key_id=None if all_nvme else props.inference_key.key_arn,
            production_variants=[self._production_variant(variant) for variant in config.variants],
            # AWS documents no exception for inference components, and the API accepts it
            # (docs/deploy-readiness.md, C13: were it refused, CreateEndpointConfig fails before any instance).
            data_capture_config=self._data_capture_config(props),
            # An endpoint that hosts inference components names the role, the VPC and network isolation
            # here: its variants carry no model (CreateEndpointConfig: ExecutionRoleArn, VpcConfig,
            # EnableNetworkIsolation "for endpoints that host inference components").
            execution_role_arn=self.execution_role.role_arn if components else None,
            vpc_config=self._vpc_config(props) if components else None,
            enable_network_isolation=all(v.model.network_isolation for v in config.variants) if components else None,
        )
        if components:
            # SageMaker checks the role's access when it creates the endpoint config.
            # Enforced by Kit-SageMakerModelAfterRolePolicy.
            endpoint_config.node.add_dependency(self.execution_policy)
        if all_nvme:
            reason = (
                "Every variant runs on an instance type with NVMe instance storage, which is encrypted by a "
                "hardware module on the instance; CreateEndpointConfig rejects KmsKeyId for such types. "
                "Captured data is KMS-encrypted (DataCaptureConfig.KmsKeyId)."
            )
            acknowledge(
                endpoint_config,
                {
                    finding_id("HIPAA.Security-SageMakerEndpointConfigurationKMSKeyConfigured"): reason,
                    finding_id("NIST.800.53.R5-SageMakerEndpointConfigurationKMSKeyConfigured"): reason,
                },
            )
        return endpoint_config

    def _production_variant(self, variant: Variant) -> sagemaker.CfnEndpointConfig.ProductionVariantProperty:
        config = self.config
        own_model = variant.inference_component is None
        scaling = variant.autoscaling
        return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            variant_name=variant.name,
            # A variant under inference components is capacity only: the component names the model.
            model_name=self.models[variant.name].attr_model_name if own_model else None,
            instance_type=variant.instance_type,
            initial_instance_count=variant.initial_instance_count,
            initial_variant_weight=variant.initial_weight,
            volume_size_in_gb=variant.volume_size_gb,
            routing_config=sagemaker.CfnEndpointConfig.RoutingConfigProperty(
                routing_strategy="LEAST_OUTSTANDING_REQUESTS"
            ),
            # Also accepted on a variant of inference components (AWS's scale-to-zero blog sets both there);
            # each component repeats them in its StartupParameters.
            container_startup_health_check_timeout_in_seconds=config.container_startup_health_check_timeout_seconds,
            model_data_download_timeout_in_seconds=config.model_data_download_timeout_seconds,
            # SageMaker adds and removes instances as the component's copies need them, down to
            # MinInstanceCount 0 for scale to zero (ProductionVariantManagedInstanceScaling).
            managed_instance_scaling=None
            if own_model
            else sagemaker.CfnEndpointConfig.ManagedInstanceScalingProperty(
                status="ENABLED", min_instance_count=scaling.min_instances, max_instance_count=scaling.max_instances
            ),
            # The host AMI's NVIDIA driver must run the image's CUDA (LMI 0.38.0 is cu130: driver 580,
            # al2023-ami-sagemaker-inference-gpu-4-1), or the container fails with CannotStartContainerError
            # (https://docs.aws.amazon.com/sagemaker/latest/dg/inference-gpu-drivers.html). Checked at
            # config load (kit_config/gpu_drivers.py) and by Kit-SageMakerGpuDriverFitsImage.
            inference_ami_version=variant.inference_ami_version,
        )

    def _vpc_config(self, props: InferenceEndpointProps) -> sagemaker.CfnEndpointConfig.VpcConfigProperty:
        return sagemaker.CfnEndpointConfig.VpcConfigProperty(
            security_group_ids=[self.security_group.security_group_id],
            subnets=props.network.vpc.select_subnets(**_selection(props.network.subnets)).subnet_ids,
        )

    def _data_capture_config(
        self, props: InferenceEndpointProps
    ) -> sagemaker.CfnEndpointConfig.DataCaptureConfigProperty:
        capture = props.config.data_capture
        return sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
            enable_capture=capture.enabled,
            initial_sampling_percentage=capture.sampling_percentage,
            destination_s3_uri=self.data_capture_bucket.s3_uri("capture"),
            kms_key_id=props.storage_key.key_arn,
            capture_options=[
                sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Input"),
                sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Output"),
            ],
            capture_content_type_header=sagemaker.CfnEndpointConfig.CaptureContentTypeHeaderProperty(
                json_content_types=["application/json"]
            ),
        )

    def _inference_component(self, variant: Variant) -> sagemaker.CfnInferenceComponent:
        """The variant's model as copies on its instances, rolled out copy by copy with alarm rollback."""
        config, component = self.config, variant.inference_component
        deployment = config.deployment
        resource = sagemaker.CfnInferenceComponent(
            self,
            f"Component{_alnum(variant.name)}",
            inference_component_name=variant.component_name(config.endpoint_name),
            endpoint_name=self.endpoint.attr_endpoint_name,
            variant_name=variant.name,
            specification=sagemaker.CfnInferenceComponent.InferenceComponentSpecificationProperty(
                model_name=self.models[variant.name].attr_model_name,
                compute_resource_requirements=sagemaker.CfnInferenceComponent.InferenceComponentComputeResourceRequirementsProperty(
                    number_of_accelerator_devices_required=component.accelerators,
                    min_memory_required_in_mb=component.memory_mib,
                ),
                startup_parameters=sagemaker.CfnInferenceComponent.InferenceComponentStartupParametersProperty(
                    container_startup_health_check_timeout_in_seconds=config.container_startup_health_check_timeout_seconds,
                    model_data_download_timeout_in_seconds=config.model_data_download_timeout_seconds,
                ),
            ),
            runtime_config=sagemaker.CfnInferenceComponent.InferenceComponentRuntimeConfigProperty(
                copy_count=component.initial_copies
            ),
            # rolling: copy batches with alarm rollback; otherwise SageMaker's default, a blue/green of every copy.
            deployment_config=None
            if deployment.strategy != "rolling"
            else sagemaker.CfnInferenceComponent.InferenceComponentDeploymentConfigProperty(
                rolling_update_policy=sagemaker.CfnInferenceComponent.InferenceComponentRollingUpdatePolicyProperty(
                    maximum_batch_size=sagemaker.CfnInferenceComponent.InferenceComponentCapacitySizeProperty(
                        type="COPY_COUNT", value=deployment.component_batch_copies
                    ),
                    wait_interval_in_seconds=deployment.wait_minutes * 60,
                    maximum_execution_timeout_in_seconds=config.rollout_timeout_seconds(),
                ),
                auto_rollback_configuration=sagemaker.CfnInferenceComponent.AutoRollbackConfigurationProperty(
                    alarms=[
                        sagemaker.CfnInferenceComponent.AlarmProperty(alarm_name=alarm.alarm_name)
                        for alarm in self.rollback_alarms
                    ]
                ),
            ),
        )
        acknowledge(
            resource,
            {
                finding_id("Kit-AutoscaledCapacityRetained", "CopyCountResetOnUpdate"): (
                    "CreateInferenceComponent needs a copy count, and CloudFormation sends it again only when this "
                    "component's own properties change (a new model or specification): the copies then start at "
                    f"initial_copies ({component.initial_copies}) and the 10-second concurrency policy scales them back "
                    "within minutes. Deploys that leave the component unchanged keep autoscaling's count."
                )
            },
        )
        return resource

    def _deployment_config(self) -> sagemaker.CfnEndpoint.DeploymentConfigProperty:
        deployment = self.config.deployment
        routing = _ROUTING[deployment.strategy]
        step = None
        if routing == "CANARY":
            step = {
                "canary_size": sagemaker.CfnEndpoint.CapacitySizeProperty(
                    type="CAPACITY_PERCENT", value=deployment.canary_percent
                )
            }
        elif routing == "LINEAR":
            step = {
                "linear_step_size": sagemaker.CfnEndpoint.CapacitySizeProperty(
                    type="CAPACITY_PERCENT", value=deployment.linear_step_percent
                )
            }
        return sagemaker.CfnEndpoint.DeploymentConfigProperty(
            blue_green_update_policy=sagemaker.CfnEndpoint.BlueGreenUpdatePolicyProperty(
                traffic_routing_configuration=sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
                    type=routing, wait_interval_in_seconds=deployment.wait_minutes * 60, **(step or {})
                ),
                termination_wait_in_seconds=deployment.termination_wait_minutes * 60,
                maximum_execution_timeout_in_seconds=self.config.rollout_timeout_seconds(),
            ),
            auto_rollback_configuration=sagemaker.CfnEndpoint.AutoRollbackConfigProperty(
                alarms=[
                    sagemaker.CfnEndpoint.AlarmProperty(alarm_name=alarm.alarm_name) for alarm in self.rollback_alarms
                ]
            ),
        )

    def _scalable_target(self, variant: Variant) -> appscaling.ScalableTarget:
        """Instances of a variant with its own model; copies of an inference component.

        Both track SageMaker's high-resolution concurrency metric (10 s): ConcurrentRequestsPerModel for a
        variant, ConcurrentRequestsPerCopy for a component, whose instances managed instance scaling then
        adds and removes ("Autoscaling for inference components", SageMaker developer guide).
        """
        scaling, component = variant.autoscaling, variant.inference_component
        if component is None:
            resource_id = f"endpoint/{self.endpoint_name}/variant/{variant.name}"
            dimension, low, high = (
                "sagemaker:variant:DesiredInstanceCount",
                scaling.min_instances,
                scaling.max_instances,
            )
            concurrency = appscaling.PredefinedMetric.SAGEMAKER_VARIANT_CONCURRENT_REQUESTS_PER_MODEL_HIGH_RESOLUTION
            invocations = appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE
        else:
            resource_id = f"inference-component/{variant.component_name(self.endpoint_name)}"
            dimension, low, high = (
                "sagemaker:inference-component:DesiredCopyCount",
                component.min_copies,
                component.max_copies,
            )
            concurrency = (
                appscaling.PredefinedMetric.SAGEMAKER_INFERENCE_COMPONENT_CONCURRENT_REQUESTS_PER_COPY_HIGH_RESOLUTION
            )
            invocations = appscaling.PredefinedMetric.SAGEMAKER_INFERENCE_COMPONENT_INVOCATIONS_PER_COPY
        target = appscaling.ScalableTarget(
            self,
            f"Scaling{_alnum(variant.name)}",
            service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
            resource_id=resource_id,
            scalable_dimension=dimension,
            min_capacity=low,
            max_capacity=high,
        )
        target.node.add_dependency(self.inference_components.get(variant.name) or self.endpoint)
        target.scale_to_track_metric(
            "TargetTracking",
            target_value=scaling.target_value,
            predefined_metric=concurrency if scaling.metric == "concurrency" else invocations,
            scale_in_cooldown=Duration.seconds(scaling.scale_in_cooldown_seconds),
            scale_out_cooldown=Duration.seconds(scaling.scale_out_cooldown_seconds),
        )
        for action in scaling.scheduled:
            target.scale_on_schedule(
                action.name,
                schedule=appscaling.Schedule.expression(action.schedule),
                min_capacity=action.min_instances,
                max_capacity=action.max_instances,
                time_zone=TimeZone.of(action.timezone),
            )
        return target

    def _scale_out_from_zero(self, variant_name: str, target: appscaling.ScalableTarget) -> cloudwatch.Alarm:
        """At zero copies target tracking has no concurrency to track: a request refused for want of a copy
        (NoCapacityInvocationFailures) starts one. AWS's procedure: a step policy adding one copy, on an alarm
        over that metric ("Scale an endpoint to zero instances",
        https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-zero-instances.html).
        """
        component = self.find_inference_component(variant_name)
        step = appscaling.StepScalingAction(
            self,
            f"ScaleOutFromZero{_alnum(variant_name)}",
            scaling_target=target,
            adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            metric_aggregation_type=appscaling.MetricAggregationType.MAXIMUM,
            cooldown=Duration.seconds(SCALE_OUT_FROM_ZERO_COOLDOWN_SECONDS),
        )
        step.add_adjustment(adjustment=1, lower_bound=0)
        alarm = cloudwatch.Alarm(
            self,
            f"NoCapacity{_alnum(variant_name)}",
            alarm_name=f"{self.endpoint_name}-{variant_name}-NoCapacityInvocationFailures",
            alarm_description=(
                f"{component.name}: a request found no copy running (scaled to zero); adds one copy. "
                "Requests fail until it is in service (minutes)."
            ),
            metric=component.metric_no_capacity_invocation_failures(
                period=Duration.seconds(SCALE_OUT_FROM_ZERO_PERIOD_SECONDS)
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cloudwatch_actions.ApplicationScalingAction(step))
        return alarm

    def _alarms(self, props: InferenceEndpointProps) -> tuple[dict[str, cloudwatch.Alarm], list[cloudwatch.Alarm]]:
        """The alarms per variant (on its component where it has one), and those that roll an update back."""
        thresholds = props.config.alarms
        name = props.config.endpoint_name
        alarms: dict[str, cloudwatch.Alarm] = {}
        rollback: list[cloudwatch.Alarm] = []

        for variant in props.config.variants:
            v = variant.name
            served = self.serving(v)
            defined = {
                # ModelLatency is reported in microseconds.
                "ModelLatencyP95": (
                    served.metric_model_latency("p95"),
                    thresholds.model_latency_p95_ms * 1000,
                    f"p95 model latency above {thresholds.model_latency_p95_ms} ms",
                    True,
                ),
                "Invocation5XXErrors": (
                    served.metric_invocation_errors("5XX"),
                    thresholds.invocation_5xx_errors,
                    f"more than {thresholds.invocation_5xx_errors} 5XX errors a minute",
                    True,
                ),
                "Invocation4XXErrorRate": (
                    served.metric_invocation_4xx_error_rate(),
                    thresholds.invocation_4xx_error_rate_percent,
                    f"4XX error rate above {thresholds.invocation_4xx_error_rate_percent}%",
                    False,  # clients cause 4XX; not a reason to roll back a deployment
                ),
                "GpuMemoryUtilization": (
                    served.metric_gpu_memory_utilization("Maximum"),
                    thresholds.gpu_memory_utilization_percent,
                    f"GPU memory above {thresholds.gpu_memory_utilization_percent}%",
                    False,  # vLLM preallocates most GPU memory; an alert, not a rollback trigger
                ),
            }
            for alarm_id, (source, threshold, description, rolls_back) in defined.items():
                alarm = notifying_alarm(
                    self,
                    f"{alarm_id}{_alnum(v)}",
                    alarm_name=f"{name}-{v}-{alarm_id}",
                    description=f"{name} variant {v}: {description}",
                    metric=source,
                    threshold=threshold,
                    evaluation_periods=thresholds.evaluation_periods,
                    topic=props.alarm_topic,
                )
                alarms[f"{alarm_id}/{v}"] = alarm
                if rolls_back and self._update_rolls_back:
                    rollback.append(alarm)
        return alarms, rollback


def _weights_statements(stack: Stack, config: InferenceConfig) -> list[iam.PolicyStatement]:
    """Read (and list) the variants' weights prefixes, per bucket."""
    statements = []
    for bucket, prefixes in _model_prefixes(config).items():
        statements += [
            iam.PolicyStatement(
                sid=f"ReadWeights{_alnum(bucket)}",
                actions=["s3:GetObject"],
                resources=[f"arn:{stack.partition}:s3:::{bucket}/{prefix}*" for prefix in prefixes],
            ),
            iam.PolicyStatement(
                sid=f"ListWeights{_alnum(bucket)}",
                actions=["s3:ListBucket"],
                resources=[f"arn:{stack.partition}:s3:::{bucket}"],
                conditions={"StringLike": {"s3:prefix": [f"{prefix}*" for prefix in prefixes]}},
            ),
        ]
    return statements


def _selection(selection: ec2.SubnetSelection) -> dict:
    return {"subnet_type": selection.subnet_type}


def _model_prefixes(config: InferenceConfig) -> dict[str, list[str]]:
    prefixes: dict[str, list[str]] = {}
    for variant in config.variants:
        if variant.model.s3_bucket:
            prefixes.setdefault(variant.model.s3_bucket, []).append(variant.model.s3_prefix)
    return prefixes


def _alnum(text: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", text) if part)
