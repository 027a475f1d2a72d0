"""The agent host's rules reject the broken forms, and pass the fixed ones:

- Kit-BearerTokensOverTls: a JWT-verifying agent behind a plain-HTTP listener or target group (staging's
  old form: HTTP on port 80 to HTTP on 8080);
- Kit-KeepAliveExceedsIdleTimeout: uvicorn's keep-alive at or below the load balancer's idle timeout (the
  intermittent 502s: uvicorn's default 5 s behind a 90 s load balancer);
- Kit-LambdaEnvironmentCustomerKey: a function's variables under the AWS managed key, or under a key its
  role cannot decrypt (dev's old form, and the form CDK's environment_encryption alone produces).
"""

from __future__ import annotations

import pytest
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_

from tests.helpers import gate_findings

pytestmark = pytest.mark.synth

CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
AGENT = {"AGENT_ENDPOINT_NAME": "governed-agents-staging-llm", "AGENT_AUTH_MODE": "jwt"}
SECURED = {**AGENT, "AGENT_TLS": "self_signed", "AGENT_KEEP_ALIVE_SECONDS": "95"}
HTTP, HTTPS = elbv2.ApplicationProtocol.HTTP, elbv2.ApplicationProtocol.HTTPS


def kit(findings: dict, rule: str) -> list[str]:
    return sorted(rule_id for rule_id in findings if rule_id.startswith(f"Kit-{rule}"))


def agent_behind_a_load_balancer(
    *,
    environment: dict,
    listener: elbv2.ApplicationProtocol = HTTPS,
    target: elbv2.ApplicationProtocol = HTTPS,
    idle_timeout: int | None = 90,
    redirect_http: bool = False,
):
    """An ECS service running the agent runtime (its AGENT_* variables) behind an internal ALB."""

    def build(stack):
        vpc = ec2.Vpc.from_vpc_attributes(
            stack, "Vpc", vpc_id="vpc-0123456789abcdef0", availability_zones=["us-east-1a", "us-east-1b"],
            isolated_subnet_ids=["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
        )  # fmt: skip
        task = ecs.FargateTaskDefinition(stack, "Task", cpu=256, memory_limit_mib=512)
        task.add_container(
            "Agent",
            image=ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/python:3.11-slim"),
            environment=environment,
            port_mappings=[ecs.PortMapping(container_port=8080)],
        )
        service = ecs.FargateService(
            stack, "Service", cluster=ecs.Cluster(stack, "Cluster", vpc=vpc), task_definition=task,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        )  # fmt: skip
        alb = elbv2.ApplicationLoadBalancer(
            stack,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=False,
            idle_timeout=Duration.seconds(idle_timeout) if idle_timeout else None,
        )
        https = listener == HTTPS
        front = alb.add_listener(
            "Listener",
            port=443 if https else 80,
            protocol=listener,
            open=False,
            certificates=[elbv2.ListenerCertificate.from_arn(CERTIFICATE)] if https else None,
        )
        front.add_targets("Agent", port=8080, protocol=target, targets=[service])
        if redirect_http:
            alb.add_redirect(source_port=80, target_port=443, open=False)

    return build


# -- BearerTokensOverTls ------------------------------------------------------------------------------------


def test_a_jwt_agent_behind_plain_http_is_rejected(tmp_path):
    """Staging's old form: an HTTP listener on port 80 forwarding to HTTP on the task."""
    findings = gate_findings(
        agent_behind_a_load_balancer(environment=AGENT, listener=HTTP, target=HTTP), tmp_path=tmp_path
    )
    assert kit(findings, "BearerTokensOverTls") == [
        "Kit-BearerTokensOverTls[PlainHttpListener::80]",
        "Kit-BearerTokensOverTls[PlainHttpToTask::Agent]",
    ]
    assert findings["Kit-BearerTokensOverTls[PlainHttpListener::80]"] == ["gate/UnderTest/Service/Service"]


def test_tls_must_reach_the_task(tmp_path):
    findings = gate_findings(agent_behind_a_load_balancer(environment=SECURED, target=HTTP), tmp_path=tmp_path)
    assert kit(findings, "BearerTokensOverTls") == ["Kit-BearerTokensOverTls[PlainHttpToTask::Agent]"]
    # An HTTPS target group in front of a container serving plain HTTP: every health check fails.
    plain = {k: v for k, v in SECURED.items() if k != "AGENT_TLS"}
    findings = gate_findings(agent_behind_a_load_balancer(environment=plain), tmp_path=tmp_path / "plain")
    assert kit(findings, "BearerTokensOverTls") == ["Kit-BearerTokensOverTls[TaskServesNoTls::Agent]"]


def test_the_runtime_default_auth_mode_is_jwt(tmp_path):
    """Without AGENT_AUTH_MODE the runtime verifies bearer tokens (RuntimeSettings' default)."""
    unset = {"AGENT_ENDPOINT_NAME": "governed-agents-staging-llm"}
    findings = gate_findings(
        agent_behind_a_load_balancer(environment=unset, listener=HTTP, target=HTTP), tmp_path=tmp_path
    )
    assert "Kit-BearerTokensOverTls[PlainHttpListener::80]" in findings


def test_https_end_to_end_passes_and_a_redirect_only_listener_forwards_nothing(tmp_path):
    findings = gate_findings(agent_behind_a_load_balancer(environment=SECURED, redirect_http=True), tmp_path=tmp_path)
    assert kit(findings, "BearerTokensOverTls") == []


def test_services_without_bearer_tokens_are_not_its_concern(tmp_path):
    """IAM-authenticated agents and other containers carry no bearer token."""
    for name, environment in (("iam", {**AGENT, "AGENT_AUTH_MODE": "iam"}), ("web", {"PORT": "8080"})):
        findings = gate_findings(
            agent_behind_a_load_balancer(environment=environment, listener=HTTP, target=HTTP),
            tmp_path=tmp_path / name,
        )
        assert kit(findings, "BearerTokensOverTls") == []


# -- KeepAliveExceedsIdleTimeout ------------------------------------------------------------------------------


def test_uvicorns_default_keep_alive_behind_a_load_balancer_is_rejected(tmp_path):
    """The intermittent 502s: uvicorn closes idle connections after 5 s, the load balancer after 90 s."""
    unset = {k: v for k, v in SECURED.items() if k != "AGENT_KEEP_ALIVE_SECONDS"}
    findings = gate_findings(agent_behind_a_load_balancer(environment=unset), tmp_path=tmp_path)
    assert kit(findings, "KeepAliveExceedsIdleTimeout") == [
        "Kit-KeepAliveExceedsIdleTimeout[KeepAliveNotAboveIdleTimeout::Agent::5s<=90s]"
    ]
    # Equal is not enough: both sides may close the same idle connection at the same moment.
    equal = {**SECURED, "AGENT_KEEP_ALIVE_SECONDS": "90"}
    findings = gate_findings(agent_behind_a_load_balancer(environment=equal), tmp_path=tmp_path / "equal")
    assert kit(findings, "KeepAliveExceedsIdleTimeout") == [
        "Kit-KeepAliveExceedsIdleTimeout[KeepAliveNotAboveIdleTimeout::Agent::90s<=90s]"
    ]


def test_the_load_balancers_default_idle_timeout_counts(tmp_path):
    """No idle_timeout attribute: ELB's default, 60 s."""
    short = {**SECURED, "AGENT_KEEP_ALIVE_SECONDS": "30"}
    findings = gate_findings(agent_behind_a_load_balancer(environment=short, idle_timeout=None), tmp_path=tmp_path)
    assert kit(findings, "KeepAliveExceedsIdleTimeout") == [
        "Kit-KeepAliveExceedsIdleTimeout[KeepAliveNotAboveIdleTimeout::Agent::30s<=60s]"
    ]


def test_a_keep_alive_above_the_idle_timeout_passes(tmp_path):
    findings = gate_findings(agent_behind_a_load_balancer(environment=SECURED), tmp_path=tmp_path)
    assert kit(findings, "KeepAliveExceedsIdleTimeout") == []


# -- LambdaEnvironmentCustomerKey ----------------------------------------------------------------------------


def function_with(*, key: bool, grant: bool):
    def build(stack):
        role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        policy = iam.ManagedPolicy(stack, "Permissions", roles=[role])
        policy.add_statements(  # a policy may not be empty
            iam.PolicyStatement(
                actions=["logs:PutLogEvents"],
                resources=["arn:aws:logs:us-east-1:123456789012:log-group:/kit/function:*"],
            )
        )
        environment_key = kms.Key(stack, "Key", enable_key_rotation=True, removal_policy=RemovalPolicy.DESTROY)
        if grant:
            environment_key.grant_decrypt(policy)
        lambda_.Function(
            stack,
            "Function",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="index.handler",
            code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
            role=role,
            environment={"AGENT_ENDPOINT_NAME": "governed-agents-dev-llm"},
            environment_encryption=environment_key if key else None,
        )

    return build


def test_a_function_under_the_aws_managed_key_is_rejected(tmp_path):
    """Dev's old form: no KmsKeyArn, so Lambda used aws/lambda (checkov CKV_AWS_173)."""
    findings = gate_findings(function_with(key=False, grant=False), tmp_path=tmp_path)
    assert kit(findings, "LambdaEnvironmentCustomerKey") == ["Kit-LambdaEnvironmentCustomerKey[AwsManagedKey]"]
    assert findings["Kit-LambdaEnvironmentCustomerKey[AwsManagedKey]"] == ["gate/UnderTest/Function/Resource"]


def test_a_key_the_role_cannot_decrypt_is_rejected(tmp_path):
    """What CDK's environment_encryption alone gives: the key on the function, no grant to its role, so
    every cold start fails with KMSAccessDeniedException."""
    findings = gate_findings(function_with(key=True, grant=False), tmp_path=tmp_path)
    assert kit(findings, "LambdaEnvironmentCustomerKey") == ["Kit-LambdaEnvironmentCustomerKey[RoleCannotDecrypt]"]


def test_a_customer_key_the_role_may_decrypt_passes(tmp_path):
    findings = gate_findings(function_with(key=True, grant=True), tmp_path=tmp_path)
    assert kit(findings, "LambdaEnvironmentCustomerKey") == []
