"""The agent stack in both compute modes: private, IAM- or SG-gated, least privilege, wired to its settings."""

from __future__ import annotations

import json

import pytest

from agent_runtime.settings import RuntimeSettings
from kit_config.project import PROJECT_DIR
from tests.helpers import ENVIRONMENTS, only, resources


def agent(synthesized, env: str) -> dict:
    return synthesized.templates[(env, "Agent")]


def permissions(template: dict) -> list[dict]:
    policy = next(
        p for k, p in resources(template, "AWS::IAM::ManagedPolicy").items() if k.startswith("AgentPermissions")
    )
    return policy["Properties"]["PolicyDocument"]["Statement"]


def actions(statement: dict) -> list[str]:
    return [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]


def runtime_environment(synthesized, env: str) -> dict:
    template = agent(synthesized, env)
    if synthesized.configs[env].agent.compute == "lambda":
        return only(resources(template, "AWS::Lambda::Function"))["Properties"]["Environment"]["Variables"]
    [container] = only(resources(template, "AWS::ECS::TaskDefinition"))["Properties"]["ContainerDefinitions"]
    return {item["Name"]: item["Value"] for item in container["Environment"]}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_environment_carries_exactly_what_the_runtime_settings_read(synthesized, env, monkeypatch):
    environment = runtime_environment(synthesized, env)
    # Fargate also sets HOME and TMPDIR for the OS (Kit-EcsWritableScratch), not for the runtime's settings.
    os_variables = {"HOME": "/tmp", "TMPDIR": "/tmp"} if synthesized.configs[env].agent.compute == "fargate" else {}
    assert {name: environment.pop(name) for name in os_variables} == os_variables
    assert set(environment) <= RuntimeSettings.environment_variables()
    # Every value the deployment sets parses into the runtime's own settings object.
    for name in RuntimeSettings.environment_variables():
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value if isinstance(value, str) else "token")
    settings = RuntimeSettings()
    config = synthesized.configs[env]
    assert settings.endpoint_name == config.inference.endpoint_name
    assert settings.env_name == env and settings.tools == config.agent.runtime.tools
    assert settings.max_tokens == config.agent.runtime.max_tokens
    assert "AGENT_MLFLOW_TRACKING_URI" in environment and "AGENT_SESSION_BUCKET" in environment


def test_lambda_is_private_and_reachable_only_through_an_iam_function_url(synthesized):
    template, config = agent(synthesized, "dev"), synthesized.configs["dev"].agent
    function = only(resources(template, "AWS::Lambda::Function"))["Properties"]
    assert function["PackageType"] == "Image"
    assert function["ImageConfig"] == {
        "Command": ["agent_runtime.lambda_handler.handler"],
        "EntryPoint": ["python", "-m", "awslambdaric"],
    }
    assert (function["MemorySize"], function["Timeout"], function.get("ReservedConcurrentExecutions")) == (
        config.memory_mb,
        config.timeout_seconds,
        config.reserved_concurrency,
    )
    assert config.reserved_concurrency is None and "ReservedConcurrentExecutions" not in function  # dev: no reservation
    assert len(function["VpcConfig"]["SubnetIds"]) == 2 and len(function["VpcConfig"]["SecurityGroupIds"]) == 1
    assert function["LoggingConfig"]["LogGroup"]["Ref"].startswith("AgentLogs")
    url = only(resources(template, "AWS::Lambda::Url"))["Properties"]
    assert url["AuthType"] == "AWS_IAM"
    assert all(
        p["Properties"].get("FunctionUrlAuthType", "AWS_IAM") == "AWS_IAM"
        for p in resources(template, "AWS::Lambda::Permission").values()
    )
    assert not any(
        p["Properties"].get("Principal") == "*" for p in resources(template, "AWS::Lambda::Permission").values()
    )


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_fargate_service_is_private_non_root_and_rolls_back(synthesized, env):
    template, config = agent(synthesized, env), synthesized.configs[env].agent
    cluster = only(resources(template, "AWS::ECS::Cluster"))["Properties"]
    assert {"Name": "containerInsights", "Value": "enabled"} in cluster["ClusterSettings"]
    task = only(resources(template, "AWS::ECS::TaskDefinition"))["Properties"]
    [container] = task["ContainerDefinitions"]
    assert container["User"] == "10001" and container["ReadonlyRootFilesystem"] is True
    assert container["MountPoints"] == [{"ContainerPath": "/tmp", "ReadOnly": False, "SourceVolume": "tmp"}]
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    assert (task["Cpu"], task["Memory"]) == (str(config.cpu), str(config.memory_mb))
    service = only(resources(template, "AWS::ECS::Service"))["Properties"]
    network = service["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    assert service["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}


@pytest.mark.parametrize("env, protocol, port", [("staging", "HTTP", 80), ("prod", "HTTPS", 443)])
def test_load_balancer_is_internal_and_admits_only_configured_callers(synthesized, env, protocol, port):
    template, config = agent(synthesized, env), synthesized.configs[env].agent
    alb = only(resources(template, "AWS::ElasticLoadBalancingV2::LoadBalancer"))["Properties"]
    assert alb["Scheme"] == "internal"
    attributes = {a["Key"]: a["Value"] for a in alb["LoadBalancerAttributes"]}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["access_logs.s3.enabled"] == "true"
    listener = only(resources(template, "AWS::ElasticLoadBalancingV2::Listener"))["Properties"]
    assert (listener["Protocol"], listener["Port"]) == (protocol, port)
    if protocol == "HTTPS":
        assert listener["Certificates"] == [{"CertificateArn": config.certificate_arn}]
    target_group = only(resources(template, "AWS::ElasticLoadBalancingV2::TargetGroup"))["Properties"]
    assert (target_group["HealthCheckPath"], target_group["Port"]) == ("/health", 8080)
    alb_group_id, alb_group = next(
        (k, g["Properties"])
        for k, g in resources(template, "AWS::EC2::SecurityGroup").items()
        if "load balancer" in g["Properties"]["GroupDescription"]
    )
    ingress = alb_group.get("SecurityGroupIngress", []) + [
        r["Properties"]
        for r in resources(template, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [alb_group_id, "GroupId"]}
    ]
    sources = sorted(r.get("CidrIp") or r.get("SourceSecurityGroupId") for r in ingress)
    assert sources == sorted(config.ingress_cidrs + config.ingress_security_group_ids)
    assert all(r["FromPort"] == port for r in ingress)


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_fargate_scales_on_sessions_in_flight_from_the_same_limit_and_on_cpu(synthesized, env):
    template, config = agent(synthesized, env), synthesized.configs[env].agent
    target = only(resources(template, "AWS::ApplicationAutoScaling::ScalableTarget"))["Properties"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (config.min_tasks, config.max_tasks)
    policies = [
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"]
        for p in resources(template, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    ]
    assert sorted(
        p["PredefinedMetricSpecification"]["PredefinedMetricType"]
        for p in policies
        if "PredefinedMetricSpecification" in p
    ) == ["ECSServiceAverageCPUUtilization"]  # no request-rate policy
    [sessions] = [p for p in policies if "CustomizedMetricSpecification" in p]
    metric = sessions["CustomizedMetricSpecification"]
    assert (metric["Namespace"], metric["MetricName"], metric["Statistic"]) == (
        "GovernedAgents",
        "ConcurrentSessions",
        "Average",
    )
    assert metric["Dimensions"] == [{"Name": "Environment", "Value": env}, {"Name": "service", "Value": "agent"}]
    # The number that bounds a task (503 beyond it) also sets where the service scales out.
    limit = int(runtime_environment(synthesized, env)["AGENT_MAX_CONCURRENT_SESSIONS"])
    assert (
        limit == config.max_concurrent_sessions
        and sessions["TargetValue"] == limit * config.sessions_target_percent / 100
    )
    assert runtime_environment(synthesized, env)["AGENT_SESSIONS_METRIC_SECONDS"] == "30"  # the gauge the policy reads
    target_group = only(resources(template, "AWS::ElasticLoadBalancingV2::TargetGroup"))["Properties"]
    attributes = {a["Key"]: a["Value"] for a in target_group["TargetGroupAttributes"]}
    assert attributes["load_balancing.algorithm.type"] == "least_outstanding_requests"


def test_lambda_serves_one_session_per_execution_environment(synthesized):
    environment = runtime_environment(synthesized, "dev")
    assert environment["AGENT_MAX_CONCURRENT_SESSIONS"] == "1" and "AGENT_SESSIONS_METRIC_SECONDS" not in environment


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_agent_permissions_are_exactly_the_grants(synthesized, env):
    statements = permissions(agent(synthesized, env))
    granted = sorted(a for s in statements for a in actions(s))
    invoke = next(s for s in statements if "sagemaker:InvokeEndpoint" in actions(s))
    assert sorted(actions(invoke)) == ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"]
    assert invoke["Resource"].endswith(f":endpoint/{synthesized.configs[env].inference.endpoint_name}")
    assert not any(a.endswith(":*") or a == "*" for a in granted)
    assert all(s["Resource"] != "*" for s in statements)
    sessions = next(s for s in statements if "s3:DeleteObject" in actions(s))
    assert json.dumps(sessions["Resource"]).endswith('/sessions/*"]]}')


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_agent_security_group_has_no_ingress_and_only_private_egress(synthesized, env):
    template = agent(synthesized, env)
    group = next(
        g["Properties"]
        for g in resources(template, "AWS::EC2::SecurityGroup").values()
        if "agent: egress" in g["Properties"]["GroupDescription"]
    )
    assert "SecurityGroupEgress" not in group
    for egress in (e["Properties"] for e in resources(template, "AWS::EC2::SecurityGroupEgress").values()):
        assert "CidrIp" not in egress  # only security groups and the S3 prefix list


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_alarms_on_errors_throttles_and_latency_notify_the_topic(synthesized, env):
    alarms = [a["Properties"] for a in resources(agent(synthesized, env), "AWS::CloudWatch::Alarm").values()]
    named = {a["MetricName"]: a for a in alarms}
    assert {"Errors", "Throttled", "Latency"} <= set(named)
    assert named["Latency"]["ExtendedStatistic"] == "p95"
    assert named["Errors"]["Dimensions"] == [
        {"Name": "Environment", "Value": env},
        {"Name": "service", "Value": "agent"},
    ]
    assert all("AlarmTopic" in json.dumps(a["AlarmActions"]) for a in alarms)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_session_bucket_follows_the_retention(synthesized, env):
    template = agent(synthesized, env)
    bucket = only(resources(template, "AWS::S3::Bucket"))["Properties"]
    assert (
        bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == synthesized.configs[env].log_retention_days
    )


def test_the_hosts_import_neither_the_service_nor_each_other():
    """The service chooses the host; the hosts know only the props and the interface (no import circle)."""
    import subprocess
    import sys

    for host, other in (("agent_lambda", "agent_fargate"), ("agent_fargate", "agent_lambda")):
        code = (
            f"import sys, kit_constructs.{host}; "
            f"loaded = {{'kit_constructs.agent_service', 'kit_constructs.{other}'}} & set(sys.modules); "
            "assert not loaded, loaded"
        )
        subprocess.run([sys.executable, "-c", code], check=True, cwd=PROJECT_DIR)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_stack_outputs_the_hosts_api_url_through_the_compute_interface(synthesized, env):
    from kit_constructs.agent_compute import AgentCompute

    [stage] = [stage for stage in synthesized.kit.stages if stage.stage_name == env]
    compute = stage.agent.agent.compute
    assert isinstance(compute, AgentCompute)
    expected = "FunctionUrl" if synthesized.configs[env].agent.compute == "lambda" else "LoadBalancerUrl"
    assert compute.api_output.output_id == expected
    outputs = agent(synthesized, env)["Outputs"]
    assert outputs[expected]["Description"] == compute.api_output.description
