"""The deploy-readiness rules reject what CloudFormation accepts but a deploy or an update would fail on.

Each test builds the broken form and shows the gate rejecting it, then the fixed form passing.
"""

from __future__ import annotations

import pytest
from aws_cdk import RemovalPolicy
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns

from tests.helpers import gate_findings

pytestmark = pytest.mark.synth

IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.36.0-lmi18.0.0-cu128"


def kit(findings: dict, rule: str) -> list[str]:
    return sorted(rule_id for rule_id in findings if rule_id.startswith(f"Kit-{rule}"))


# -- RetainExceptOnCreate -----------------------------------------------------------------------


def test_retain_is_rejected_and_retain_except_on_create_passes(tmp_path):
    def build(stack):
        logs.LogGroup(stack, "Retained", log_group_name="/kit/retained", removal_policy=RemovalPolicy.RETAIN)
        logs.LogGroup(
            stack,
            "RetainedExceptOnCreate",
            log_group_name="/kit/ok",
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        )

    findings = gate_findings(build, tmp_path=tmp_path)
    assert kit(findings, "RetainExceptOnCreate") == ["Kit-RetainExceptOnCreate"]
    assert findings["Kit-RetainExceptOnCreate"] == ["gate/UnderTest/Retained/Resource"]


# -- SnsPublishersAllowed -----------------------------------------------------------------------


def _alarm_to(stack, topic):
    alarm = cloudwatch.Alarm(
        stack,
        "Alarm",
        metric=cloudwatch.Metric(namespace="Kit", metric_name="Errors"),
        threshold=1,
        evaluation_periods=1,
    )
    alarm.add_alarm_action(actions.SnsAction(topic))


def _budget_to(stack, topic):
    budgets.CfnBudget(
        stack,
        "Budget",
        budget=budgets.CfnBudget.BudgetDataProperty(
            budget_type="COST", time_unit="MONTHLY", budget_limit=budgets.CfnBudget.SpendProperty(amount=10, unit="USD")
        ),
        notifications_with_subscribers=[
            budgets.CfnBudget.NotificationWithSubscribersProperty(
                notification=budgets.CfnBudget.NotificationProperty(
                    notification_type="ACTUAL", comparison_operator="GREATER_THAN", threshold=80
                ),
                subscribers=[budgets.CfnBudget.SubscriberProperty(subscription_type="SNS", address=topic.topic_arn)],
            )
        ],
    )


def _allow(topic, service: str, conditions: dict | None = None):
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(service)],
            actions=["sns:Publish"],
            resources=[topic.topic_arn],
            conditions=conditions
            if conditions is not None
            else {"StringEquals": {"aws:SourceAccount": "123456789012"}},
        )
    )


def test_ssl_only_topic_policy_locks_out_alarms_and_budgets(tmp_path):
    def build(stack):
        topic = sns.Topic(stack, "Topic", enforce_ssl=True)
        _alarm_to(stack, topic)
        _budget_to(stack, topic)

    assert kit(gate_findings(build, tmp_path=tmp_path), "SnsPublishersAllowed") == [
        "Kit-SnsPublishersAllowed[NoPublishAllow::budgets.amazonaws.com]",
        "Kit-SnsPublishersAllowed[NoPublishAllow::cloudwatch.amazonaws.com]",
    ]


def test_an_allow_without_source_conditions_does_not_count(tmp_path):
    def build(stack):
        topic = sns.Topic(stack, "Topic", enforce_ssl=True)
        _alarm_to(stack, topic)
        _allow(topic, "cloudwatch.amazonaws.com", conditions={})

    assert kit(gate_findings(build, tmp_path=tmp_path), "SnsPublishersAllowed") == [
        "Kit-SnsPublishersAllowed[NoPublishAllow::cloudwatch.amazonaws.com]"
    ]


def test_publishers_with_a_scoped_allow_pass(tmp_path):
    def build(stack):
        topic = sns.Topic(stack, "Topic", enforce_ssl=True)
        _alarm_to(stack, topic)
        _budget_to(stack, topic)
        _allow(topic, "cloudwatch.amazonaws.com")
        _allow(topic, "budgets.amazonaws.com")

    assert kit(gate_findings(build, tmp_path=tmp_path), "SnsPublishersAllowed") == []


# -- SageMaker models, endpoints and rollouts -----------------------------------------------------


def _role_with_policy(stack, statements: list[iam.PolicyStatement]):
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    policy = iam.ManagedPolicy(stack, "Policy", statements=statements, roles=[role])
    return role, policy


def _model(stack, role, policy=None):
    model = sagemaker.CfnModel(
        stack,
        "Model",
        execution_role_arn=role.role_arn,
        enable_network_isolation=True,
        primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(image=IMAGE),
        vpc_config=sagemaker.CfnModel.VpcConfigProperty(
            security_group_ids=["sg-0123456789abcdef0"], subnets=["subnet-0123456789abcdef0"]
        ),
    )
    if policy is not None:
        model.node.add_dependency(policy)
    return model


PULL = iam.PolicyStatement(
    actions=["ecr:BatchGetImage"], resources=["arn:aws:ecr:us-east-1:763104351884:repository/djl-inference"]
)


def test_model_created_before_its_role_policy_is_rejected(tmp_path):
    def build(stack):
        role, _ = _role_with_policy(stack, [PULL])
        _model(stack, role)

    findings = gate_findings(build, tmp_path=tmp_path)
    [finding] = kit(findings, "SageMakerModelAfterRolePolicy")
    assert finding.startswith("Kit-SageMakerModelAfterRolePolicy[NotAfter::Policy")


def test_model_after_its_role_policy_passes(tmp_path):
    def build(stack):
        role, policy = _role_with_policy(stack, [PULL])
        _model(stack, role, policy)

    assert kit(gate_findings(build, tmp_path=tmp_path), "SageMakerModelAfterRolePolicy") == []


def _endpoint(
    stack,
    *,
    describe_alarms: bool,
    routing: dict,
    min_capacity: int,
    retain: bool = True,
    exclude: tuple[str, ...] = (),
):
    alarm = cloudwatch.Alarm(
        stack,
        "Errors",
        alarm_name="llm-errors",
        threshold=1,
        evaluation_periods=1,
        metric=cloudwatch.Metric(namespace="AWS/SageMaker", metric_name="Invocation5XXErrors"),
    )
    statements = [PULL]
    if describe_alarms:
        statements.append(iam.PolicyStatement(actions=["cloudwatch:DescribeAlarms"], resources=[alarm.alarm_arn]))
    role, policy = _role_with_policy(stack, statements)
    model = _model(stack, role, policy)
    config = sagemaker.CfnEndpointConfig(
        stack,
        "Config",
        production_variants=[
            sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                variant_name="primary",
                model_name=model.attr_model_name,
                instance_type="ml.g5.2xlarge",
                initial_instance_count=max(min_capacity, 1),
            )
        ],
    )
    endpoint = sagemaker.CfnEndpoint(
        stack,
        "Endpoint",
        endpoint_name="llm",
        endpoint_config_name=config.attr_endpoint_config_name,
        retain_all_variant_properties=retain or None,
        exclude_retained_variant_properties=[
            sagemaker.CfnEndpoint.VariantPropertyProperty(variant_property_type=kind) for kind in exclude
        ]
        or None,
        deployment_config=sagemaker.CfnEndpoint.DeploymentConfigProperty(
            blue_green_update_policy=sagemaker.CfnEndpoint.BlueGreenUpdatePolicyProperty(
                traffic_routing_configuration=sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(**routing)
            ),
            auto_rollback_configuration=sagemaker.CfnEndpoint.AutoRollbackConfigProperty(
                alarms=[sagemaker.CfnEndpoint.AlarmProperty(alarm_name=alarm.alarm_name)]
            ),
        ),
    )
    target = appscaling.ScalableTarget(
        stack,
        "Scaling",
        service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
        resource_id="endpoint/llm/variant/primary",
        scalable_dimension="sagemaker:variant:DesiredInstanceCount",
        min_capacity=min_capacity,
        max_capacity=max(4, min_capacity),
    )
    target.node.add_dependency(endpoint)
    target.scale_on_schedule(
        "Nightly", schedule=appscaling.Schedule.cron(hour="20", minute="0"), min_capacity=min_capacity
    )


ALL_AT_ONCE = {"type": "ALL_AT_ONCE", "wait_interval_in_seconds": 300}


def canary(percent: int) -> dict:
    return {
        "type": "CANARY",
        "wait_interval_in_seconds": 300,
        "canary_size": sagemaker.CfnEndpoint.CapacitySizeProperty(type="CAPACITY_PERCENT", value=percent),
    }


def linear(percent: int) -> dict:
    return {
        "type": "LINEAR",
        "wait_interval_in_seconds": 300,
        "linear_step_size": sagemaker.CfnEndpoint.CapacitySizeProperty(type="CAPACITY_PERCENT", value=percent),
    }


def test_rollback_alarm_the_role_cannot_read_is_rejected(tmp_path):
    findings = gate_findings(
        lambda s: _endpoint(s, describe_alarms=False, routing=ALL_AT_ONCE, min_capacity=1), tmp_path=tmp_path
    )
    [finding] = kit(findings, "SageMakerRollbackAlarmsReadable")
    assert finding.startswith("Kit-SageMakerRollbackAlarmsReadable[NotReadable::primary::Errors"), finding


def test_update_that_resets_autoscaled_capacity_is_rejected(tmp_path):
    findings = gate_findings(
        lambda s: _endpoint(s, describe_alarms=True, routing=ALL_AT_ONCE, min_capacity=1, retain=False),
        tmp_path=tmp_path,
    )
    assert kit(findings, "AutoscaledCapacityRetained") == ["Kit-AutoscaledCapacityRetained[CapacityResetOnUpdate]"]
    findings = gate_findings(
        lambda s: _endpoint(
            s, describe_alarms=True, routing=ALL_AT_ONCE, min_capacity=1, exclude=("DesiredInstanceCount",)
        ),
        tmp_path=tmp_path / "excluded",
    )
    assert kit(findings, "AutoscaledCapacityRetained") == [
        "Kit-AutoscaledCapacityRetained[DesiredInstanceCountExcluded]"
    ]
    findings = gate_findings(
        lambda s: _endpoint(
            s, describe_alarms=True, routing=ALL_AT_ONCE, min_capacity=1, exclude=("DataCaptureConfig",)
        ),
        tmp_path=tmp_path / "capture",
    )
    assert kit(findings, "AutoscaledCapacityRetained") == [
        "Kit-AutoscaledCapacityRetained[UnsupportedExclusion::DataCaptureConfig]"
    ]


def test_canary_or_linear_on_a_one_instance_fleet_is_rejected(tmp_path):
    findings = gate_findings(
        lambda s: _endpoint(s, describe_alarms=True, routing=canary(10), min_capacity=1), tmp_path=tmp_path
    )
    assert kit(findings, "SageMakerRolloutStepFitsCapacity") == [
        "Kit-SageMakerRolloutStepFitsCapacity[CanarySizeNotFit::primary::1Instances]"
    ]
    findings = gate_findings(
        lambda s: _endpoint(s, describe_alarms=True, routing=linear(5), min_capacity=20), tmp_path=tmp_path / "small"
    )
    assert kit(findings, "SageMakerRolloutStepFitsCapacity") == [
        "Kit-SageMakerRolloutStepFitsCapacity[LinearStepSizeNotFit::primary::20Instances]"
    ]


def test_a_compliant_endpoint_passes_every_deploy_readiness_rule(tmp_path):
    findings = gate_findings(
        lambda s: _endpoint(s, describe_alarms=True, routing=canary(10), min_capacity=2), tmp_path=tmp_path
    )
    for rule in (
        "SageMakerRollbackAlarmsReadable",
        "AutoscaledCapacityRetained",
        "SageMakerRolloutStepFitsCapacity",
        "SageMakerModelAfterRolePolicy",
    ):
        assert kit(findings, rule) == [], rule


# -- EcsWritableScratch -------------------------------------------------------------------------


def _task(stack, *, mount: bool, environment: dict[str, str], tmpfs: bool = False):
    task = ecs.FargateTaskDefinition(stack, "Task", cpu=256, memory_limit_mib=512)
    task.add_volume(name="tmp")
    container = task.add_container(
        "App",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/python:3.11-slim"),
        user="10001",
        readonly_root_filesystem=True,
        environment=environment,
        linux_parameters=ecs.LinuxParameters(stack, "Linux", init_process_enabled=False) if tmpfs else None,
    )
    if tmpfs:
        container.linux_parameters.add_tmpfs(ecs.Tmpfs(container_path="/tmp", size=64))
    if mount:
        container.add_mount_points(ecs.MountPoint(container_path="/tmp", source_volume="tmp", read_only=False))


def test_read_only_root_without_writable_tmp_or_home_is_rejected(tmp_path):
    findings = gate_findings(lambda s: _task(s, mount=False, environment={}), tmp_path=tmp_path)
    assert kit(findings, "EcsWritableScratch") == [
        "Kit-EcsWritableScratch[HOMENotWritable::App]",
        "Kit-EcsWritableScratch[TMPDIRNotWritable::App]",
    ]
    findings = gate_findings(
        lambda s: _task(s, mount=True, environment={"HOME": "/home/agent"}), tmp_path=tmp_path / "home"
    )
    assert kit(findings, "EcsWritableScratch") == ["Kit-EcsWritableScratch[HOMENotWritable::App]"]


def test_a_tmpfs_at_tmp_counts_as_writable(tmp_path):
    findings = gate_findings(
        lambda s: _task(s, mount=False, environment={"HOME": "/tmp/home"}, tmpfs=True), tmp_path=tmp_path
    )
    assert kit(findings, "EcsWritableScratch") == []


def test_mounted_tmp_with_home_and_tmpdir_inside_passes(tmp_path):
    findings = gate_findings(
        lambda s: _task(s, mount=True, environment={"HOME": "/tmp", "TMPDIR": "/tmp"}), tmp_path=tmp_path
    )
    assert kit(findings, "EcsWritableScratch") == []


# -- SageMakerGpuDriverFitsImage --------------------------------------------------------------------

CU130 = "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.38.0-lmi29.0.0-cu130"


def _gpu_config(stack, instance_type: str, ami: str | None, image: str = CU130):
    role, policy = _role_with_policy(stack, [PULL])
    model = sagemaker.CfnModel(
        stack,
        "Model",
        execution_role_arn=role.role_arn,
        enable_network_isolation=True,
        primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(image=image),
        vpc_config=sagemaker.CfnModel.VpcConfigProperty(
            security_group_ids=["sg-0123456789abcdef0"], subnets=["subnet-0123456789abcdef0"]
        ),
    )
    model.node.add_dependency(policy)
    sagemaker.CfnEndpointConfig(
        stack,
        "Config",
        production_variants=[
            sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                variant_name="primary",
                model_name=model.attr_model_name,
                instance_type=instance_type,
                initial_instance_count=1,
                inference_ami_version=ami,
            )
        ],
    )


def test_cuda13_image_on_a_default_driver_host_is_rejected(tmp_path):
    findings = gate_findings(lambda s: _gpu_config(s, "ml.g5.2xlarge", None), tmp_path=tmp_path)
    assert kit(findings, "SageMakerGpuDriverFitsImage") == [
        "Kit-SageMakerGpuDriverFitsImage[DriverTooOld::primary::470<580]"
    ]
    findings = gate_findings(
        lambda s: _gpu_config(s, "ml.g6.xlarge", "al2-ami-sagemaker-inference-gpu-3-1"), tmp_path=tmp_path / "ami"
    )
    assert kit(findings, "SageMakerGpuDriverFitsImage") == [
        "Kit-SageMakerGpuDriverFitsImage[DriverTooOld::primary::550<580]"
    ]
    findings = gate_findings(lambda s: _gpu_config(s, "ml.g6e.xlarge", None), tmp_path=tmp_path / "g6e")
    assert kit(findings, "SageMakerGpuDriverFitsImage") == [
        "Kit-SageMakerGpuDriverFitsImage[UnknownHostDriver::primary]"
    ]


def test_an_ami_whose_driver_runs_the_image_passes(tmp_path):
    findings = gate_findings(
        lambda s: _gpu_config(s, "ml.g6e.xlarge", "al2023-ami-sagemaker-inference-gpu-4-1"), tmp_path=tmp_path
    )
    assert kit(findings, "SageMakerGpuDriverFitsImage") == []
    findings = gate_findings(
        lambda s: _gpu_config(s, "ml.g5.2xlarge", None, image=IMAGE.replace("cu128", "cu118")),
        tmp_path=tmp_path / "cu118",
    )
    assert kit(findings, "SageMakerGpuDriverFitsImage") == []


# -- KmsKeySpecUsage ----------------------------------------------------------------------------


def _keys(**keys):
    """L1 keys, which reach CreateKey without the L2's own checks."""

    def build(stack):
        for name, properties in keys.items():
            kms.CfnKey(stack, name, key_policy=KEY_POLICY, **properties)

    return build


KEY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "kms:Describe*",
            "Resource": "*",
        }
    ],
}


def test_an_hmac_key_with_the_default_usage_or_rotation_is_rejected(tmp_path):
    findings = gate_findings(
        _keys(
            DefaultUsage={"key_spec": "HMAC_256"},
            EncryptUsage={"key_spec": "HMAC_256", "key_usage": "ENCRYPT_DECRYPT"},
            Rotating={"key_spec": "HMAC_256", "key_usage": "GENERATE_VERIFY_MAC", "enable_key_rotation": True},
            SymmetricMac={"key_usage": "GENERATE_VERIFY_MAC", "enable_key_rotation": True},
        ),
        tmp_path=tmp_path,
    )
    assert kit(findings, "KmsKeySpecUsage") == [
        "Kit-KmsKeySpecUsage[RotationNotSupported::HMAC_256]",
        "Kit-KmsKeySpecUsage[UsageNotValid::HMAC_256::ENCRYPT_DECRYPT]",
        "Kit-KmsKeySpecUsage[UsageNotValid::SYMMETRIC_DEFAULT::GENERATE_VERIFY_MAC]",
    ]
    assert sorted(findings["Kit-KmsKeySpecUsage[UsageNotValid::HMAC_256::ENCRYPT_DECRYPT]"]) == [
        "gate/UnderTest/DefaultUsage",
        "gate/UnderTest/EncryptUsage",
    ]


def test_the_caller_id_key_and_a_rotating_symmetric_key_pass(tmp_path):
    from kit_constructs.caller_id_key import CallerIdKey, CallerIdKeyProps

    def build(stack):
        CallerIdKey(
            stack, "CallerIds", CallerIdKeyProps(env_name="gate", project="kit", removal_policy=RemovalPolicy.DESTROY)
        )
        _keys(Symmetric={"enable_key_rotation": True})(stack)

    assert kit(gate_findings(build, tmp_path=tmp_path), "KmsKeySpecUsage") == []


# -- RuntimeSettingsFit -------------------------------------------------------------------------


def _function(stack, name: str, variables: dict) -> None:
    lambda_.CfnFunction(
        stack,
        name,
        role="arn:aws:iam::123456789012:role/agent",
        runtime="python3.12",
        handler="a.handler",
        code=lambda_.CfnFunction.CodeProperty(zip_file="def handler(e, c): pass"),
        environment=lambda_.CfnFunction.EnvironmentProperty(variables=variables),
    )


def test_a_lambda_environment_over_4_kb_is_rejected(tmp_path):
    def build(stack):
        bucket = s3.CfnBucket(stack, "Bucket").ref
        _function(stack, "Jwks", {"AGENT_JWKS": "x" * 4100})
        # 16 deploy-time values: short in the template, up to 256 bytes each when deployed.
        _function(stack, "Tokens", {f"AGENT_VALUE_{i}": bucket for i in range(16)})
        _function(stack, "Fits", {"AGENT_JWT_ISSUER": "https://idp.example.com", "AGENT_SESSION_BUCKET": bucket})

    findings = gate_findings(build, tmp_path=tmp_path)
    assert kit(findings, "RuntimeSettingsFit") == ["Kit-RuntimeSettingsFit[LambdaEnvironmentTooLarge]"]
    assert sorted(findings["Kit-RuntimeSettingsFit[LambdaEnvironmentTooLarge]"]) == [
        "gate/UnderTest/Jwks",
        "gate/UnderTest/Tokens",
    ]


def test_a_task_definition_over_64_kib_is_rejected(tmp_path):
    def build(stack):
        for name, size in (("Large", 66 * 1024), ("Fits", 40 * 1024)):
            ecs.CfnTaskDefinition(
                stack,
                name,
                requires_compatibilities=["FARGATE"],
                cpu="256",
                memory="512",
                network_mode="awsvpc",
                container_definitions=[
                    ecs.CfnTaskDefinition.ContainerDefinitionProperty(
                        name="agent",
                        image="agent:latest",
                        environment=[ecs.CfnTaskDefinition.KeyValuePairProperty(name="AGENT_JWKS", value="x" * size)],
                    )
                ],
            )

    findings = gate_findings(build, tmp_path=tmp_path)
    assert kit(findings, "RuntimeSettingsFit") == ["Kit-RuntimeSettingsFit[TaskDefinitionTooLarge]"]
    assert findings["Kit-RuntimeSettingsFit[TaskDefinitionTooLarge]"] == ["gate/UnderTest/Large"]


# -- AutoscaledCapacityRetained ------------------------------------------------------------------


def _scaled_service(stack, *, desired_count: int | None):
    vpc = ec2.Vpc.from_vpc_attributes(
        stack, "Vpc", vpc_id="vpc-0123456789abcdef0", availability_zones=["us-east-1a"],
        isolated_subnet_ids=["subnet-0123456789abcdef0"],
    )  # fmt: skip
    task = ecs.FargateTaskDefinition(stack, "Task", cpu=256, memory_limit_mib=512)
    task.add_container("App", image=ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/python:3.11-slim"))
    service = ecs.FargateService(
        stack,
        "Service",
        cluster=ecs.Cluster(stack, "Cluster", vpc=vpc),
        task_definition=task,
        desired_count=desired_count,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
    )
    service.auto_scale_task_count(min_capacity=2, max_capacity=8).scale_on_cpu_utilization(
        "Cpu", target_utilization_percent=60
    )


def test_a_scaled_ecs_service_with_a_desired_count_is_rejected_and_without_one_passes(tmp_path):
    findings = gate_findings(lambda s: _scaled_service(s, desired_count=2), tmp_path=tmp_path)
    assert kit(findings, "AutoscaledCapacityRetained") == ["Kit-AutoscaledCapacityRetained[DesiredCountResetOnUpdate]"]
    assert findings["Kit-AutoscaledCapacityRetained[DesiredCountResetOnUpdate]"] == ["gate/UnderTest/Service/Service"]
    findings = gate_findings(lambda s: _scaled_service(s, desired_count=None), tmp_path=tmp_path / "unset")
    assert kit(findings, "AutoscaledCapacityRetained") == []


def test_a_scalable_target_of_a_kind_the_rule_does_not_model_is_rejected(tmp_path):
    def build(stack):
        appscaling.CfnScalableTarget(
            stack,
            "Concurrency",
            service_namespace="sagemaker",
            resource_id="endpoint/llm/variant/primary",
            scalable_dimension="sagemaker:variant:DesiredProvisionedConcurrency",
            min_capacity=1,
            max_capacity=2,
        )

    findings = gate_findings(build, tmp_path=tmp_path)
    assert kit(findings, "AutoscaledCapacityRetained") == [
        "Kit-AutoscaledCapacityRetained[UnmodelledDimension::sagemaker:variant:DesiredProvisionedConcurrency]"
    ]


# -- ImageBuiltForItsRuntime ---------------------------------------------------------------------


def _image_context(tmp_path) -> str:
    context = tmp_path / "image"
    context.mkdir(parents=True, exist_ok=True)
    (context / "Dockerfile").write_text("FROM public.ecr.aws/docker/library/python:3.11-slim\n")
    return str(context)


def _task_from_asset(stack, context: str, platform):
    task = ecs.FargateTaskDefinition(
        stack,
        "Task",
        cpu=256,
        memory_limit_mib=512,
        runtime_platform=ecs.RuntimePlatform(
            cpu_architecture=ecs.CpuArchitecture.X86_64, operating_system_family=ecs.OperatingSystemFamily.LINUX
        ),
    )
    task.add_container("App", image=ecs.ContainerImage.from_asset(context, platform=platform))


def test_a_task_image_without_a_platform_or_for_another_cpu_is_rejected(tmp_path):
    context = _image_context(tmp_path)
    findings = gate_findings(lambda s: _task_from_asset(s, context, None), tmp_path=tmp_path / "none")
    assert kit(findings, "ImageBuiltForItsRuntime") == ["Kit-ImageBuiltForItsRuntime[NoPlatform::App]"]
    findings = gate_findings(
        lambda s: _task_from_asset(s, context, ecr_assets.Platform.LINUX_ARM64), tmp_path=tmp_path / "arm"
    )
    assert kit(findings, "ImageBuiltForItsRuntime") == [
        "Kit-ImageBuiltForItsRuntime[PlatformMismatch::linux/arm64::linux/amd64]"
    ]
    findings = gate_findings(
        lambda s: _task_from_asset(s, context, ecr_assets.Platform.LINUX_AMD64), tmp_path=tmp_path / "amd"
    )
    assert kit(findings, "ImageBuiltForItsRuntime") == []


def test_a_lambda_image_for_another_architecture_is_rejected(tmp_path):
    context = _image_context(tmp_path)

    def build(stack, platform):
        lambda_.DockerImageFunction(
            stack,
            "Function",
            code=lambda_.DockerImageCode.from_image_asset(context, platform=platform),
            architecture=lambda_.Architecture.ARM_64,
        )

    findings = gate_findings(lambda s: build(s, ecr_assets.Platform.LINUX_AMD64), tmp_path=tmp_path / "amd")
    assert kit(findings, "ImageBuiltForItsRuntime") == [
        "Kit-ImageBuiltForItsRuntime[PlatformMismatch::linux/amd64::linux/arm64]"
    ]
    # Left unset, CDK builds a function's image for the function's architecture.
    findings = gate_findings(lambda s: build(s, None), tmp_path=tmp_path / "unset")
    assert kit(findings, "ImageBuiltForItsRuntime") == []
