"""The inference endpoint in every environment: isolation, encryption, capture, routing, scaling, rollout, alarms."""

from __future__ import annotations

import json

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_iam as iam

from kit_config.inference_schema import DEFAULT_LMI_VERSION
from kit_constructs.inference_endpoint import INVOKE_ACTIONS
from tests.helpers import ENVIRONMENTS, only, resources

pytestmark = pytest.mark.synth


def inference(synthesized, env: str) -> tuple[dict, object]:
    return synthesized.templates[(env, "Inference")], synthesized.configs[env].inference


def by_type(template: dict, resource_type: str) -> list[dict]:
    return [r["Properties"] for r in resources(template, resource_type).values()]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_variant_model_is_isolated_in_the_vpc_and_serves_tool_calls(synthesized, env):
    template, config = inference(synthesized, env)
    models = by_type(template, "AWS::SageMaker::Model")
    assert len(models) == len(config.variants)
    [model_sg] = resources(template, "AWS::EC2::SecurityGroup")
    region = synthesized.configs[env].region
    from sagemaker.core import image_uris  # the SDK itself, not the kit's reading of its table; slow to import

    expected_image = image_uris.retrieve(framework="djl-lmi", region=region, version=DEFAULT_LMI_VERSION)
    weights = {v.model.s3_uri for v in config.variants}
    for model in models:
        assert model["EnableNetworkIsolation"] is True
        assert model["VpcConfig"]["SecurityGroupIds"] == [{"Fn::GetAtt": [model_sg, "GroupId"]}]
        assert len(model["VpcConfig"]["Subnets"]) == len(synthesized.configs[env].availability_zones)
        container = model["PrimaryContainer"]
        assert container["Image"] == expected_image and "djl-inference" in expected_image
        source = container["ModelDataSource"]["S3DataSource"]
        assert (source["S3DataType"], source["CompressionType"]) == ("S3Prefix", "None")
        assert source["S3Uri"] in weights
        environment = container["Environment"]
        assert environment["OPTION_ENABLE_AUTO_TOOL_CHOICE"] == "true"
        assert environment["OPTION_TOOL_CALL_PARSER"] in {"hermes", "llama3_json"}
        assert environment["HF_MODEL_ID"] == "/opt/ml/model"
        # vLLM async mode: the only LMI mode whose streamed chat sends the usage chunk the agent asks for.
        assert (environment["OPTION_ASYNC_MODE"], environment["OPTION_ROLLING_BATCH"]) == ("true", "disable")
        assert environment["OPTION_ENTRYPOINT"] == "djl_python.lmi_vllm.vllm_async_service"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_model_security_group_only_reaches_service_endpoints_and_s3(synthesized, env):
    template, _ = inference(synthesized, env)
    group = only(resources(template, "AWS::EC2::SecurityGroup"))["Properties"]
    assert "SecurityGroupIngress" not in group and "SecurityGroupEgress" not in group  # no inline (open) rules
    egress = by_type(template, "AWS::EC2::SecurityGroupEgress")
    assert sorted(
        (e["FromPort"], "DestinationPrefixListId" in e, "DestinationSecurityGroupId" in e) for e in egress
    ) == [(443, False, True), (443, True, False)]
    [s3] = [e for e in egress if "DestinationPrefixListId" in e]
    assert s3["DestinationPrefixListId"] == synthesized.configs[env].network.s3_prefix_list_id


def test_execution_role_is_least_privilege(synthesized):
    template, _config = inference(synthesized, "staging")
    role = next(
        r
        for r in resources(template, "AWS::IAM::Role").values()
        if "sagemaker.amazonaws.com" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
    )
    assert "ManagedPolicyArns" not in role["Properties"]  # no AWS-managed (e.g. *FullAccess) policies
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "222222222222"}}
    statements = {
        s.get("Sid", ""): s
        for s in only(resources(template, "AWS::IAM::ManagedPolicy"))["Properties"]["PolicyDocument"]["Statement"]
    }
    text = json.dumps(list(statements.values()))
    assert "sagemaker:*" not in text and '"s3:*"' not in text
    read = statements["ReadWeightsGovernedAgentsStagingModels"]
    assert read["Action"] == "s3:GetObject"
    assert sorted(read["Resource"]) == [
        "arn:aws:s3:::governed-agents-staging-models/llama-3.1-8b-instruct/*",
        "arn:aws:s3:::governed-agents-staging-models/qwen2.5-7b-instruct/*",
    ]
    assert statements["PullServingImage"]["Resource"] == "arn:aws:ecr:us-east-1:763104351884:repository/djl-inference"
    [log_group_id] = resources(template, "AWS::Logs::LogGroup")
    assert statements["WriteContainerLogs"]["Resource"] == {"Fn::GetAtt": [log_group_id, "Arn"]}
    # AWS's minimum execution-role policy: the instance (GPU) metrics are published as this role, only into
    # SageMaker's namespaces.
    assert statements["PublishInstanceMetrics"]["Condition"] == {
        "StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}
    }
    wildcard = [s for s in statements.values() if s["Resource"] == "*"]
    assert sorted(a for s in wildcard for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])) == [
        "cloudwatch:PutMetricData",
        "ec2:DescribeDhcpOptions",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
        "ecr:GetAuthorizationToken",
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_endpoint_config_routes_to_least_outstanding_and_captures_encrypted(synthesized, env):
    template, config = inference(synthesized, env)
    endpoint_config = only(resources(template, "AWS::SageMaker::EndpointConfig"))["Properties"]
    assert "KmsKeyId" not in endpoint_config  # every shipped instance type has NVMe storage (hardware-encrypted)
    variants = {v["VariantName"]: v for v in endpoint_config["ProductionVariants"]}
    assert set(variants) == {v.name for v in config.variants}
    for variant in config.variants:
        rendered = variants[variant.name]
        assert rendered["InstanceType"] == variant.instance_type
        assert rendered["InitialInstanceCount"] == variant.initial_instance_count
        assert rendered["InitialVariantWeight"] == variant.initial_weight
        assert rendered["RoutingConfig"] == {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}
        assert (
            rendered["ContainerStartupHealthCheckTimeoutInSeconds"]
            == config.container_startup_health_check_timeout_seconds
        )
        assert rendered["ModelDataDownloadTimeoutInSeconds"] == config.model_data_download_timeout_seconds
        assert "VolumeSizeInGB" not in rendered
    capture = endpoint_config["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert capture["InitialSamplingPercentage"] == config.data_capture.sampling_percentage
    assert sorted(o["CaptureMode"] for o in capture["CaptureOptions"]) == ["Input", "Output"]
    assert "KeysStorage" in json.dumps(capture["KmsKeyId"])
    [bucket_id] = resources(template, "AWS::S3::Bucket")
    assert bucket_id in json.dumps(capture["DestinationS3Uri"])
    bucket = resources(template, "AWS::S3::Bucket")[bucket_id]["Properties"]
    assert bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == config.data_capture.capture_days


@pytest.mark.parametrize(
    "env, routing, step",
    [
        ("staging", "ALL_AT_ONCE", None),
        ("prod", "CANARY", ("CanarySize", 10)),
    ],
)
def test_blue_green_rollout_rolls_back_on_latency_and_5xx_alarms(synthesized, env, routing, step):
    template, config = inference(synthesized, env)
    endpoint = only(resources(template, "AWS::SageMaker::Endpoint"))["Properties"]
    assert endpoint["EndpointName"] == config.endpoint_name
    policy = endpoint["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    traffic = policy["TrafficRoutingConfiguration"]
    assert traffic["Type"] == routing
    assert traffic["WaitIntervalInSeconds"] == config.deployment.wait_minutes * 60
    if step:
        assert traffic[step[0]] == {"Type": "CAPACITY_PERCENT", "Value": step[1]}
    assert policy["TerminationWaitInSeconds"] == config.deployment.termination_wait_minutes * 60
    rollback = [a["AlarmName"]["Ref"] for a in endpoint["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]]
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    assert sorted(alarms[a]["Properties"].get("MetricName") for a in rollback) == sorted(
        ["Invocation5XXErrors", "ModelLatency"] * len(config.variants)
    )


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_every_variant_scales_on_high_resolution_concurrency(synthesized, env):
    template, config = inference(synthesized, env)
    targets = {t["ResourceId"]: t for t in by_type(template, "AWS::ApplicationAutoScaling::ScalableTarget")}
    policies = by_type(template, "AWS::ApplicationAutoScaling::ScalingPolicy")
    assert len(policies) == len(config.variants)
    for variant in config.variants:
        target = targets[f"endpoint/{config.endpoint_name}/variant/{variant.name}"]
        assert target["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
        assert (target["MinCapacity"], target["MaxCapacity"]) == (
            variant.autoscaling.min_instances,
            variant.autoscaling.max_instances,
        )
        assert len(target.get("ScheduledActions", [])) == len(variant.autoscaling.scheduled)
    for policy in policies:
        tracking = policy["TargetTrackingScalingPolicyConfiguration"]
        assert (
            tracking["PredefinedMetricSpecification"]["PredefinedMetricType"]
            == "SageMakerVariantConcurrentRequestsPerModelHighResolution"
        )
        assert tracking["TargetValue"] in {v.autoscaling.target_value for v in config.variants}


def test_dev_hosts_a_component_on_managed_instance_scaling_down_to_zero(synthesized):
    template, _ = inference(synthesized, "dev")
    endpoint_config = only(resources(template, "AWS::SageMaker::EndpointConfig"))["Properties"]
    [rendered] = endpoint_config["ProductionVariants"]
    # Capacity only: no model on the variant; the role, VPC and isolation sit on the endpoint config.
    assert "ModelName" not in rendered
    assert rendered["ManagedInstanceScaling"] == {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 2}
    assert rendered["InitialInstanceCount"] == 1  # SageMaker's minimum even when MinInstanceCount is 0
    assert "ExecutionRoleArn" in endpoint_config and endpoint_config["EnableNetworkIsolation"] is True
    assert endpoint_config["VpcConfig"]["SecurityGroupIds"]
    component = only(resources(template, "AWS::SageMaker::InferenceComponent"))["Properties"]
    assert component["InferenceComponentName"] == "governed-agents-dev-llm-primary"
    assert component["VariantName"] == "primary" and component["RuntimeConfig"] == {"CopyCount": 1}
    assert component["Specification"]["ComputeResourceRequirements"] == {
        "NumberOfAcceleratorDevicesRequired": 1,
        "MinMemoryRequiredInMb": 12288,
    }
    # all_at_once: SageMaker's blue/green of every copy; neither the endpoint nor the component takes alarms.
    assert "DeploymentConfig" not in component
    assert "DeploymentConfig" not in only(resources(template, "AWS::SageMaker::Endpoint"))["Properties"]


def test_dev_scales_copies_to_zero_and_the_first_refused_request_wakes_it(synthesized):
    template, _ = inference(synthesized, "dev")
    target = only(resources(template, "AWS::ApplicationAutoScaling::ScalableTarget"))["Properties"]
    assert target["ResourceId"] == "inference-component/governed-agents-dev-llm-primary"
    assert target["ScalableDimension"] == "sagemaker:inference-component:DesiredCopyCount"
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, 2) and "ScheduledActions" not in target
    policies = {
        k: v["Properties"] for k, v in resources(template, "AWS::ApplicationAutoScaling::ScalingPolicy").items()
    }
    by_kind = {p["PolicyType"]: (k, p) for k, p in policies.items()}
    assert by_kind.keys() == {"TargetTrackingScaling", "StepScaling"}
    tracking = by_kind["TargetTrackingScaling"][1]["TargetTrackingScalingPolicyConfiguration"]
    assert (
        tracking["PredefinedMetricSpecification"]["PredefinedMetricType"]
        == "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
    )
    step_id, step = by_kind["StepScaling"]
    assert step["StepScalingPolicyConfiguration"]["AdjustmentType"] == "ChangeInCapacity"
    # Longer than a copy takes to start: the alarm re-invokes the +1 every minute until then.
    assert step["StepScalingPolicyConfiguration"]["Cooldown"] == 600
    assert step["StepScalingPolicyConfiguration"]["StepAdjustments"] == [
        {"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}
    ]
    [wake] = [
        a for a in by_type(template, "AWS::CloudWatch::Alarm") if a.get("MetricName") == "NoCapacityInvocationFailures"
    ]
    assert wake["AlarmActions"] == [{"Ref": step_id}]
    assert wake["Dimensions"] == [{"Name": "InferenceComponentName", "Value": "governed-agents-dev-llm-primary"}]
    # One refused request is enough (GreaterThanOrEqualToThreshold 1; Kit-ScaleToZeroWakes).
    assert (wake["ComparisonOperator"], wake["Threshold"], wake["EvaluationPeriods"]) == (
        "GreaterThanOrEqualToThreshold",
        1,
        1,
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_alarms_cover_latency_errors_and_gpu_memory_and_notify_the_encrypted_topic(synthesized, env):
    template, config = inference(synthesized, env)
    # A component's wake alarm acts on its scaling policy, not the topic (test above).
    alarms = [
        a for a in by_type(template, "AWS::CloudWatch::Alarm") if a.get("MetricName") != "NoCapacityInvocationFailures"
    ]
    assert len(alarms) == 4 * len(config.variants)
    named = {a.get("MetricName"): a for a in alarms}
    latency = named["ModelLatency"]
    assert (latency["ExtendedStatistic"], latency["Threshold"]) == ("p95", config.alarms.model_latency_p95_ms * 1000)
    if config.hosts_inference_components:  # per component: its share of the GPUs it reserves
        assert named["GPUMemoryUtilizationNormalized"]["Namespace"] == "/aws/sagemaker/InferenceComponents"
        assert latency["Dimensions"] == [{"Name": "InferenceComponentName", "Value": "governed-agents-dev-llm-primary"}]
    else:
        assert named["GPUMemoryUtilization"]["Namespace"] == "/aws/sagemaker/Endpoints"
    assert named["Invocation5XXErrors"]["Threshold"] == config.alarms.invocation_5xx_errors
    rate = next(a for a in alarms if "Metrics" in a)
    # Guarded with IF, never MAX([series, 1]) (CloudWatch rejects a scalar in an array; Kit rule tests it).
    expression = next(m["Expression"] for m in rate["Metrics"] if "Expression" in m)
    assert expression == "IF(invocations > 0, 100 * errors / invocations, 0)"
    for alarm in alarms:
        assert alarm["AlarmActions"] == alarm["OKActions"]
        assert "AlarmTopic" in json.dumps(alarm["AlarmActions"])  # the Foundation stack's KMS-encrypted topic
        assert alarm["Dimensions" if "Dimensions" in alarm else "Metrics"]


def test_container_logs_are_encrypted_and_retained(synthesized):
    template, config = inference(synthesized, "prod")
    group = only(resources(template, "AWS::Logs::LogGroup"))["Properties"]
    assert group["LogGroupName"] == f"/aws/sagemaker/Endpoints/{config.endpoint_name}"
    assert group["RetentionInDays"] == 731 and "KeysLogs" in json.dumps(group["KmsKeyId"])


def test_grant_invoke_is_exactly_the_two_invoke_actions_on_this_endpoint_and_its_component(synthesized):
    stage = next(s for s in synthesized.kit.stages if s.stage_name == "dev")
    endpoint = stage.inference.endpoint
    stack = Stack(App(), "Consumer", env=Environment(account="111111111111", region="us-east-1"))
    role = iam.Role(stack, "Agent", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    endpoint.grant_invoke(role)
    [statement] = stack.resolve(role.node.find_child("DefaultPolicy").document.to_json())["Statement"]
    # A request naming an inference component is authorized on the component's ARN as well.
    assert statement == {
        "Action": INVOKE_ACTIONS,
        "Effect": "Allow",
        "Resource": [
            "arn:aws:sagemaker:us-east-1:111111111111:endpoint/governed-agents-dev-llm",
            "arn:aws:sagemaker:us-east-1:111111111111:inference-component/governed-agents-dev-llm-primary",
        ],
    }


def _standalone_endpoint(stack, config_data: dict):
    """An InferenceEndpoint with its own keys, network and topic in `stack` (no other stacks)."""
    from aws_cdk import RemovalPolicy
    from aws_cdk import aws_sns as sns

    from kit_config.inference_schema import InferenceConfig
    from kit_config.schema import CreateVpc
    from kit_constructs.encryption_keys import EnvironmentKeys, EnvironmentKeysProps
    from kit_constructs.inference_endpoint import InferenceEndpoint, InferenceEndpointProps
    from kit_constructs.isolated_network import IsolatedNetwork, IsolatedNetworkProps
    from kit_constructs.secure_bucket import AccessLogBucket, AccessLogBucketProps

    keys = EnvironmentKeys(stack, "Keys", EnvironmentKeysProps("test", "kit", RemovalPolicy.DESTROY))
    network = IsolatedNetwork(
        stack,
        "Net",
        IsolatedNetworkProps(
            network=CreateVpc(mode="create", cidr="10.0.0.0/16", az_count=1, s3_prefix_list_id="pl-63a5400a"),
            availability_zones=["us-east-1a"],
            vpc_cidr="10.0.0.0/16",
            flow_log_key=keys.logs,
            log_retention_days=30,
            removal_policy=RemovalPolicy.DESTROY,
            s3_prefix_list_id="pl-63a5400a",
        ),
    )
    return InferenceEndpoint(
        stack,
        "Llm",
        InferenceEndpointProps(
            config=InferenceConfig.model_validate(config_data),
            network=network,
            inference_key=keys.inference,
            storage_key=keys.storage,
            logs_key=keys.logs,
            access_logs=AccessLogBucket(stack, "Logs", AccessLogBucketProps(30, RemovalPolicy.DESTROY)),
            alarm_topic=sns.Topic(stack, "Topic"),
            log_retention_days=30,
            removal_policy=RemovalPolicy.DESTROY,
        ),
    )


def test_ebs_backed_instances_get_the_inference_key_and_a_volume_size():
    """Inferentia2 has no instance store: the storage volume is EBS and must use the inference key."""
    from aws_cdk.assertions import Template

    from stacks.kit_app import cdk_json_context

    stack = Stack(
        App(context=cdk_json_context()), "Neuron", env=Environment(account="123456789012", region="us-east-1")
    )
    _standalone_endpoint(
        stack,
        {
            "endpoint_name": "neuron-llm",
            "max_instances_cap": 4,
            "image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.29.0-neuronx-sdk2.19.1",
            "variants": [
                {
                    "name": "primary",
                    "instance_type": "ml.inf2.xlarge",
                    "initial_instance_count": 1,
                    "volume_size_gb": 64,
                    "model": {"name": "m", "s3_uri": "s3://weights-bucket/m/"},
                    "autoscaling": {"min_instances": 1, "max_instances": 2, "target_value": 2},
                }
            ],
            "deployment": {"strategy": "all_at_once"},
        },
    )
    rendered = Template.from_stack(stack).to_json()
    endpoint_config = only(resources(rendered, "AWS::SageMaker::EndpointConfig"))["Properties"]
    [inference_key] = [k for k in resources(rendered, "AWS::KMS::Key") if k.startswith("KeysInference")]
    assert endpoint_config["KmsKeyId"] == {"Fn::GetAtt": [inference_key, "Arn"]}
    assert endpoint_config["ProductionVariants"][0]["VolumeSizeInGB"] == 64


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_updates_keep_the_autoscaled_instance_count_but_apply_weights(synthesized, env):
    endpoint = only(resources(synthesized.templates[(env, "Inference")], "AWS::SageMaker::Endpoint"))["Properties"]
    assert endpoint["RetainAllVariantProperties"] is True
    assert [p["VariantPropertyType"] for p in endpoint["ExcludeRetainedVariantProperties"]] == ["DesiredWeight"]


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_execution_role_reads_exactly_the_rollback_alarms_and_models_wait_for_it(synthesized, env):
    template, _ = inference(synthesized, env)
    endpoint = only(resources(template, "AWS::SageMaker::Endpoint"))["Properties"]
    rollback = sorted(
        a["AlarmName"]["Ref"] for a in endpoint["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    )
    [(policy_id, policy)] = resources(template, "AWS::IAM::ManagedPolicy").items()
    [read] = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s.get("Sid") == "ReadRollbackAlarms"]
    assert read["Action"] == "cloudwatch:DescribeAlarms"
    assert sorted(r["Fn::GetAtt"][0] for r in read["Resource"]) == rollback
    for model in resources(template, "AWS::SageMaker::Model").values():
        assert policy_id in model["DependsOn"]


def test_an_unregistered_variant_has_no_scalable_target_and_its_finding_is_acknowledged(tmp_path):
    from tests.helpers import gate_findings

    def build(stack):
        _standalone_endpoint(
            stack,
            {
                "endpoint_name": "llm",
                "max_instances_cap": 8,
                "variants": [
                    {
                        "name": name,
                        "instance_type": "ml.g6e.xlarge",
                        "inference_ami_version": "al2023-ami-sagemaker-inference-gpu-4-1",
                        "initial_instance_count": 1,
                        "initial_weight": 0.5,
                        "model": {"name": "m", "s3_uri": "s3://weights-bucket/m/"},
                        "autoscaling": {
                            "min_instances": 1,
                            "max_instances": 2,
                            "target_value": 2,
                            "registered": name == "a",
                        },
                    }
                    for name in ("a", "b")
                ],
                "deployment": {"strategy": "all_at_once"},
            },
        )
        built.append(stack)

    built: list = []
    findings = gate_findings(build, tmp_path=tmp_path)
    assert not [f for f in findings if f.startswith("Kit-SageMaker")], findings
    from aws_cdk import aws_applicationautoscaling as appscaling

    targets = [c.resource_id for c in built[0].node.find_all() if isinstance(c, appscaling.CfnScalableTarget)]
    assert targets == ["endpoint/llm/variant/a"]


def test_strategy_none_updates_without_guardrails_for_a_variant_change(tmp_path):
    from tests.helpers import gate_findings

    def build(stack):
        built.append(
            _standalone_endpoint(
                stack,
                {
                    "endpoint_name": "llm",
                    "max_instances_cap": 4,
                    "deployment": {"strategy": "none"},
                    "variants": [
                        {
                            "name": "a",
                            "instance_type": "ml.g6e.xlarge",
                            "inference_ami_version": "al2023-ami-sagemaker-inference-gpu-4-1",
                            "initial_instance_count": 1,
                            "model": {"name": "m", "s3_uri": "s3://weights-bucket/m/"},
                            "autoscaling": {"min_instances": 1, "max_instances": 2, "target_value": 2},
                        }
                    ],
                },
            )
        )

    built: list = []
    assert not [f for f in gate_findings(build, tmp_path=tmp_path) if f.startswith("Kit-SageMaker")]
    endpoint = built[0].endpoint
    assert endpoint.deployment_config is None and endpoint.retain_all_variant_properties is True
