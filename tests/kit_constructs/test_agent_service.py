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


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_load_balancer_is_internal_https_only_and_admits_only_configured_callers(synthesized, env):
    """Bearer tokens never in clear: one listener, HTTPS with the configured certificate and a TLS 1.2+/1.3
    policy (no port 80, not even a redirect), re-encrypted to the tasks, which serve TLS themselves."""
    template, config = agent(synthesized, env), synthesized.configs[env].agent
    alb = only(resources(template, "AWS::ElasticLoadBalancingV2::LoadBalancer"))["Properties"]
    assert alb["Scheme"] == "internal"
    attributes = {a["Key"]: a["Value"] for a in alb["LoadBalancerAttributes"]}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["access_logs.s3.enabled"] == "true"
    listener = only(resources(template, "AWS::ElasticLoadBalancingV2::Listener"))["Properties"]
    assert (listener["Protocol"], listener["Port"]) == ("HTTPS", 443)
    assert listener["Certificates"] == [{"CertificateArn": config.certificate_arn}]
    assert listener["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"  # TLS 1.3 and 1.2 only
    target_group = only(resources(template, "AWS::ElasticLoadBalancingV2::TargetGroup"))["Properties"]
    assert (target_group["HealthCheckPath"], target_group["Port"]) == ("/health", 8080)
    assert target_group["Protocol"] == target_group["HealthCheckProtocol"] == "HTTPS"
    assert runtime_environment(synthesized, env)["AGENT_TLS"] == "self_signed"
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
    assert all(r["FromPort"] == r["ToPort"] == 443 for r in ingress)


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
    inference = synthesized.configs[env].inference
    endpoint, *components = invoke["Resource"] if isinstance(invoke["Resource"], list) else [invoke["Resource"]]
    assert endpoint.endswith(f":endpoint/{inference.endpoint_name}")
    # An endpoint of inference components: the request is authorized on the component it names as well.
    assert [c.rsplit(":", 1)[1] for c in components] == [
        f"inference-component/{v.component_name(inference.endpoint_name)}"
        for v in inference.variants
        if v.inference_component
    ]
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
    expected = "FunctionUrl" if synthesized.configs[env].agent.compute == "lambda" else "AgentUrl"
    assert compute.api_output.output_id == expected
    outputs = agent(synthesized, env)["Outputs"]
    assert outputs[expected]["Description"] == compute.api_output.description


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_fargate_answers_at_a_name_its_certificate_covers(synthesized, env):
    """The URL is the configured name (an alias record to the load balancer in a private hosted zone),
    not the load balancer's own DNS name, which no certificate can cover."""
    template, dns = agent(synthesized, env), synthesized.configs[env].agent.dns
    assert agent(synthesized, env)["Outputs"]["AgentUrl"]["Value"] == f"https://{dns.record_name}"
    record = only(resources(template, "AWS::Route53::RecordSet"))["Properties"]
    assert (record["Name"], record["Type"]) == (f"{dns.record_name}.", "A")
    [alb_id] = resources(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert record["AliasTarget"]["DNSName"]["Fn::Join"][1][1] == {"Fn::GetAtt": [alb_id, "DNSName"]}
    zones = resources(template, "AWS::Route53::HostedZone")
    if dns.hosted_zone_id:  # prod: the network team's zone
        assert record["HostedZoneId"] == dns.hosted_zone_id and not zones
    else:  # staging: a private zone of the kit's, in the agent's VPC
        zone_id, zone = next(iter(zones.items()))
        assert record["HostedZoneId"] == {"Ref": zone_id} and zone["Properties"]["Name"] == f"{dns.zone_name}."
        assert len(zone["Properties"]["VPCs"]) == 1  # private: associated with the VPC


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_the_tasks_keep_alive_exceeds_the_load_balancers_idle_timeout(synthesized, env):
    """Else the load balancer reuses a connection uvicorn has closed and answers 502 itself."""
    template, config = agent(synthesized, env), synthesized.configs[env].agent
    alb = only(resources(template, "AWS::ElasticLoadBalancingV2::LoadBalancer"))["Properties"]
    idle = int({a["Key"]: a["Value"] for a in alb["LoadBalancerAttributes"]}["idle_timeout.timeout_seconds"])
    keep_alive = int(runtime_environment(synthesized, env)["AGENT_KEEP_ALIVE_SECONDS"])
    assert idle == config.load_balancer_idle_timeout_seconds and keep_alive == config.keep_alive_seconds > idle


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_the_load_balancers_own_5xx_alarm(synthesized, env):
    """502s on reused connections are the load balancer's own: HTTPCode_Target_5XX_Count never sees them."""
    alarms = [a["Properties"] for a in resources(agent(synthesized, env), "AWS::CloudWatch::Alarm").values()]
    named = {a["MetricName"]: a for a in alarms}
    own = named["HTTPCode_ELB_5XX_Count"]
    assert (own["Namespace"], own["Statistic"], own["Threshold"], own["Period"]) == (
        "AWS/ApplicationELB",
        "Sum",
        0,
        300,
    )
    assert own["AlarmName"].endswith("-agent-LoadBalancerElb5xx") and "HTTPCode_Target_5XX_Count" in named


def test_lambda_environment_is_encrypted_with_the_environments_functions_key(synthesized):
    """Not the AWS managed aws/lambda key; and the role may decrypt it, or every cold start fails."""
    template = agent(synthesized, "dev")
    function = only(resources(template, "AWS::Lambda::Function"))["Properties"]
    key_arn = function["KmsKeyArn"]
    assert "FunctionsKey" in json.dumps(key_arn) or "KeysFunctions" in json.dumps(key_arn)
    decrypt = [s for s in permissions(template) if "kms:Decrypt" in actions(s) and s["Resource"] == key_arn]
    assert decrypt and all(actions(s) == ["kms:Decrypt"] for s in decrypt)
    foundation = synthesized.templates[("dev", "Foundation")]
    [key] = [
        k for logical_id, k in resources(foundation, "AWS::KMS::Key").items() if logical_id.startswith("KeysFunctions")
    ]
    via = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if s.get("Sid") == "UseViaLambda"]
    assert via and via[0]["Condition"]["StringEquals"]["kms:ViaService"] == "lambda.us-east-1.amazonaws.com"
