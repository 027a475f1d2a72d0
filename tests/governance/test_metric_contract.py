"""Every metric the stacks read is one its publisher sends: the runtime's EMF (captured from the runtime's
own publish functions under each environment's deployed AGENT_* variables) and AWS's documented metrics."""

from __future__ import annotations

import pytest

from governance.metric_contract import AWS_PUBLISHERS, contract_problems, metric_reads, runtime_publisher
from tests.helpers import ENVIRONMENTS, resources


def deployed_agent_environment(synthesized, env: str) -> dict[str, str]:
    """The AGENT_* variables the env's Lambda function or Fargate container is given (deploy-time values as
    placeholders)."""
    for (stage, _), template in synthesized.templates.items():
        if stage != env:
            continue
        for function in resources(template, "AWS::Lambda::Function").values():
            variables = (function["Properties"].get("Environment") or {}).get("Variables") or {}
            if "AGENT_ENDPOINT_NAME" in variables:
                return _literal(variables)
        for task in resources(template, "AWS::ECS::TaskDefinition").values():
            for container in task["Properties"]["ContainerDefinitions"]:
                variables = {item["Name"]: item["Value"] for item in container.get("Environment") or []}
                if "AGENT_ENDPOINT_NAME" in variables:
                    return _literal(variables)
    raise AssertionError(f"no agent in {env}")


def _literal(variables: dict) -> dict[str, str]:
    return {name: value if isinstance(value, str) else "deploy-time-value" for name, value in variables.items()}


def env_reads(synthesized, env: str):
    return [read for (stage, _), t in synthesized.templates.items() if stage == env for read in metric_reads(t)]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_metric_an_alarm_policy_or_dashboard_reads_is_published(synthesized, env):
    reads = env_reads(synthesized, env)
    runtime = runtime_publisher(deployed_agent_environment(synthesized, env))
    assert contract_problems(reads, (*AWS_PUBLISHERS, runtime)) == []
    # The checked reads include the agent's alarms, Fargate's scaling gauge and the dashboard's widgets.
    names = {(read.namespace, read.name) for read in reads}
    assert {("GovernedAgents", "Errors"), ("AWS/SageMaker", "ModelLatency"), ("GovernedAgents", "Requests")} <= names
    if synthesized.configs[env].agent.compute == "fargate":
        assert ("GovernedAgents", "ConcurrentSessions") in names


def _alarm(namespace: str, name: str, dimensions: dict) -> dict:
    return {
        "Resources": {
            "Broken": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "Namespace": namespace,
                    "MetricName": name,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                },
            }
        }
    }


RUNTIME_DIMENSIONS = {"Environment": "dev", "service": "agent"}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param(_alarm("GovernedAgents", "Error", RUNTIME_DIMENSIONS), "emits no metric 'Error'", id="typo"),
        pytest.param(
            _alarm("GovernedAgents", "Errors", {**RUNTIME_DIMENSIONS, "Environment": "prod"}),
            "emits Errors with dimensions",
            id="another-environment",
        ),
        pytest.param(
            _alarm("GovernedAgents", "Errors", {"Environment": "dev"}), "emits Errors with dimensions", id="no-service"
        ),
        pytest.param(
            _alarm("AWS/SageMaker", "ModelLatency", {"EndpointName": "e"}),
            "not published with dimensions ['EndpointName']",
            id="sagemaker-without-variant",
        ),
        pytest.param(
            _alarm("/aws/sagemaker/Endpoints", "GPUMemory", {"EndpointName": "e", "VariantName": "v"}),
            "publishes no metric 'GPUMemory'",
            id="unknown-aws-metric",
        ),
        pytest.param(_alarm("Custom/Nobody", "X", {}), "nothing the kit models publishes", id="unknown-namespace"),
    ],
)
def test_a_read_nobody_publishes_is_rejected(template, expected):
    runtime = runtime_publisher({"AGENT_ENV_NAME": "dev", "AGENT_ENDPOINT_NAME": "e"})
    [problem] = contract_problems(metric_reads(template), (*AWS_PUBLISHERS, runtime))
    assert expected in problem and problem.startswith("Broken:")


def test_dashboard_rows_are_read_through_the_join_around_tokens():
    body = {
        "Fn::Join": [
            "",
            [
                '{"widgets":[{"type":"metric","properties":{"title":"t","region":"',
                {"Ref": "AWS::Region"},
                '","metrics":[[{"expression":"a / 1000"}],["GovernedAgents","Latncy","Environment","dev",'
                '"service","agent",{"id":"a"}]]}}]}',
            ],
        ]
    }
    template = {"Resources": {"Board": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {"DashboardBody": body}}}}
    runtime = runtime_publisher({"AGENT_ENV_NAME": "dev", "AGENT_ENDPOINT_NAME": "e"})
    assert contract_problems(metric_reads(template), [runtime]) == [
        "Board (t): the runtime emits no metric 'Latncy' in GovernedAgents"
    ]
