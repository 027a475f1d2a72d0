"""A SageMaker AI real-time inference endpoint for an LLM, built on the L1s.

Per variant: a `CfnModel` (LMI container, weights from S3, network isolation, VPC config into the
isolated subnets with the model's own security group), then one `CfnEndpointConfig` (least-
outstanding-requests routing, data capture to a KMS-encrypted SecureBucket, KMS on EBS storage
where the instance type has EBS), a `CfnEndpoint` with blue/green rollout and alarm-driven
rollback, Application Auto Scaling on each variant, and CloudWatch alarms to the alarm topic.
Consumers call `grant_invoke(principal)`; nobody writes IAM for the endpoint by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Stack, TimeZone
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
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
from kit_constructs.isolated_network import IsolatedNetwork
from kit_constructs.secure_bucket import AccessLogBucket, SecureBucket, SecureBucketProps

INVOKE_ACTIONS = ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"]
# SageMaker's metrics per variant: invocation metrics, and the instances' (GPU, memory, disk).
INVOCATION_NAMESPACE = "AWS/SageMaker"
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"
METRIC_PERIOD = Duration.minutes(1)
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
        "OPTION_TENSOR_PARALLEL_DEGREE": str(model.tensor_parallel_degree),
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

        self._add_supporting_resources(props)
        self.execution_role = self._execution_role(props)
        self.models = {variant.name: self._model(variant, props) for variant in config.variants}
        self.endpoint_config = self._endpoint_config(props)
        self.alarms = self._alarms(props)
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
        self._add_autoscaling()

    def _add_supporting_resources(self, props: InferenceEndpointProps) -> None:
        """The models' security group, their container log group, the data-capture bucket."""
        config = props.config
        self.security_group = ec2.SecurityGroup(
            self,
            "ModelSecurityGroup",
            vpc=props.network.vpc,
            description=f"SageMaker model containers of {config.endpoint_name}: egress to AWS endpoints and S3 only",
            allow_all_outbound=False,
        )
        props.network.allow_endpoint_access(self.security_group)
        props.network.allow_s3_access(self.security_group)

        # SageMaker writes container logs to this fixed name; creating it first makes it encrypted and retained.
        self.log_group = EncryptedLogGroup(
            self,
            "ContainerLogs",
            EncryptedLogGroupProps(
                key=props.logs_key,
                retention_days=props.log_retention_days,
                removal_policy=props.removal_policy,
                log_group_name=f"/aws/sagemaker/Endpoints/{config.endpoint_name}",
            ),
        )
        self.data_capture_bucket = SecureBucket(
            self,
            "DataCapture",
            SecureBucketProps(
                key=props.storage_key,
                access_logs=props.access_logs,
                removal_policy=props.removal_policy,
                purpose="data-capture",
                expiration_days=config.data_capture.capture_days,
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
            deployment_config=None if config.deployment.strategy == "none" else self._deployment_config(),
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

    def _add_autoscaling(self) -> None:
        """A scalable target per registered variant; the deregistered ones are acknowledged."""
        config = self.config
        self.scalable_targets = {
            variant.name: self._autoscaling(variant) for variant in config.variants if variant.autoscaling.registered
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

    # -- metrics (the alarms and the operations dashboard read these) ---------------------------

    def metric_variant(
        self,
        metric_name: str,
        variant: str,
        statistic: str,
        *,
        namespace: str = INVOCATION_NAMESPACE,
        period: Duration = METRIC_PERIOD,
    ) -> cloudwatch.Metric:
        """One of SageMaker's metrics for one variant of this endpoint."""
        return cloudwatch.Metric(
            namespace=namespace,
            metric_name=metric_name,
            dimensions_map={"EndpointName": self.endpoint_name, "VariantName": variant},
            statistic=statistic,
            period=period,
        )

    def metric_model_latency(self, variant: str, statistic: str) -> cloudwatch.Metric:
        """ModelLatency, in microseconds."""
        return self.metric_variant("ModelLatency", variant, statistic)

    def metric_invocations(self, variant: str) -> cloudwatch.Metric:
        return self.metric_variant("Invocations", variant, "Sum")

    def metric_invocations_per_instance(self, variant: str) -> cloudwatch.Metric:
        return self.metric_variant("InvocationsPerInstance", variant, "Sum")

    def metric_invocation_errors(self, variant: str, kind: str) -> cloudwatch.Metric:
        """`kind`: 4XX or 5XX."""
        return self.metric_variant(f"Invocation{kind}Errors", variant, "Sum")

    def metric_invocation_4xx_error_rate(self, variant: str) -> cloudwatch.MathExpression:
        """4XX errors as a percentage of invocations (0 without traffic).

        CloudWatch type-checks metric math when the alarm is created: MAX takes a time series or an array
        of time series, so `MAX([invocations, 1])` (a series and a scalar in one array) is rejected
        ("Unsupported operand type(s) for MAX: '[Array[TimeSeries, Scalar]]'") and the stack rolls back.
        IF(condition TS, TS, scalar) is the documented guard ("Using metric math", CloudWatch guide).
        Enforced for every expression by Kit-CloudWatchMetricMath.
        """
        return cloudwatch.MathExpression(
            expression="IF(invocations > 0, 100 * errors / invocations, 0)",
            using_metrics={
                "errors": self.metric_invocation_errors(variant, "4XX"),
                "invocations": self.metric_invocations(variant),
            },
            label="4XX error rate (%)",
            period=METRIC_PERIOD,
        )

    def metric_gpu_utilization(self, variant: str, statistic: str) -> cloudwatch.Metric:
        """Percent, summed over the instance's GPUs."""
        return self.metric_variant("GPUUtilization", variant, statistic, namespace=INSTANCE_NAMESPACE)

    def metric_gpu_memory_utilization(self, variant: str, statistic: str) -> cloudwatch.Metric:
        """Percent, summed over the instance's GPUs."""
        return self.metric_variant("GPUMemoryUtilization", variant, statistic, namespace=INSTANCE_NAMESPACE)

    # -- grants -------------------------------------------------------------------------------

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Exactly InvokeEndpoint and InvokeEndpointWithResponseStream on this endpoint."""
        return iam.Grant.add_to_principal(grantee=grantee, actions=INVOKE_ACTIONS, resource_arns=[self.endpoint_arn])

    # -- parts ----------------------------------------------------------------------------------

    def _execution_role(self, props: InferenceEndpointProps) -> iam.Role:
        stack = Stack.of(self)
        config = props.config
        statements = [
            *self._image_and_log_statements(),
            *self._network_statements(props.network),
            *_weights_statements(stack, config),
        ]
        role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal(
                "sagemaker.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description=f"Execution role of the models behind {config.endpoint_name}",
        )
        policy = iam.ManagedPolicy(
            self,
            "ExecutionPolicy",
            description=f"Least privilege for the models behind {config.endpoint_name}",
            statements=statements,
            roles=[role],
        )
        self.execution_policy = policy
        # Data capture: SageMaker writes captured payloads as this role, encrypted with the storage key.
        self.data_capture_bucket.grant_write(policy, "capture/*")
        self._acknowledge_execution_policy(policy, config)
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
        capture = config.data_capture
        all_nvme = all(variant.spec.local_nvme_storage for variant in config.variants)
        endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "EndpointConfig",
            # Instance-store (NVMe) volumes are hardware-encrypted and SageMaker rejects KmsKeyId
            # for them; EBS-backed types get the inference key.
            kms_key_id=None if all_nvme else props.inference_key.key_arn,
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=variant.name,
                    model_name=self.models[variant.name].attr_model_name,
                    instance_type=variant.instance_type,
                    initial_instance_count=variant.initial_instance_count,
                    initial_variant_weight=variant.initial_weight,
                    volume_size_in_gb=variant.volume_size_gb,
                    routing_config=sagemaker.CfnEndpointConfig.RoutingConfigProperty(
                        routing_strategy="LEAST_OUTSTANDING_REQUESTS"
                    ),
                    container_startup_health_check_timeout_in_seconds=config.container_startup_health_check_timeout_seconds,
                    model_data_download_timeout_in_seconds=config.model_data_download_timeout_seconds,
                    # The host AMI's NVIDIA driver must run the image's CUDA (LMI 0.38.0 is cu130: driver 580,
                    # al2023-ami-sagemaker-inference-gpu-4-1), or the container fails with CannotStartContainerError
                    # (https://docs.aws.amazon.com/sagemaker/latest/dg/inference-gpu-drivers.html). Checked at
                    # config load (kit_config/gpu_drivers.py) and by Kit-SageMakerGpuDriverFitsImage.
                    inference_ami_version=variant.inference_ami_version,
                )
                for variant in config.variants
            ],
            data_capture_config=sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
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
            ),
        )
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

    def _autoscaling(self, variant: Variant) -> appscaling.ScalableTarget:
        scaling = variant.autoscaling
        target = appscaling.ScalableTarget(
            self,
            f"Scaling{_alnum(variant.name)}",
            service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
            resource_id=f"endpoint/{self.endpoint_name}/variant/{variant.name}",
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            min_capacity=scaling.min_instances,
            max_capacity=scaling.max_instances,
        )
        target.node.add_dependency(self.endpoint)
        metric = (
            appscaling.PredefinedMetric.SAGEMAKER_VARIANT_CONCURRENT_REQUESTS_PER_MODEL_HIGH_RESOLUTION
            if scaling.metric == "concurrency"
            else appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE
        )
        target.scale_to_track_metric(
            "TargetTracking",
            target_value=scaling.target_value,
            predefined_metric=metric,
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

    def _alarms(self, props: InferenceEndpointProps) -> dict[str, cloudwatch.Alarm]:
        thresholds = props.config.alarms
        name = props.config.endpoint_name
        alarms: dict[str, cloudwatch.Alarm] = {}
        rollback: list[cloudwatch.Alarm] = []

        for variant in props.config.variants:
            v = variant.name
            defined = {
                # ModelLatency is reported in microseconds.
                "ModelLatencyP95": (
                    self.metric_model_latency(v, "p95"),
                    thresholds.model_latency_p95_ms * 1000,
                    f"p95 model latency above {thresholds.model_latency_p95_ms} ms",
                    True,
                ),
                "Invocation5XXErrors": (
                    self.metric_invocation_errors(v, "5XX"),
                    thresholds.invocation_5xx_errors,
                    f"more than {thresholds.invocation_5xx_errors} 5XX errors a minute",
                    True,
                ),
                "Invocation4XXErrorRate": (
                    self.metric_invocation_4xx_error_rate(v),
                    thresholds.invocation_4xx_error_rate_percent,
                    f"4XX error rate above {thresholds.invocation_4xx_error_rate_percent}%",
                    False,  # clients cause 4XX; not a reason to roll back a deployment
                ),
                "GpuMemoryUtilization": (
                    self.metric_gpu_memory_utilization(v, "Maximum"),
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
                if rolls_back:
                    rollback.append(alarm)
        self.rollback_alarms = rollback
        return alarms


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
