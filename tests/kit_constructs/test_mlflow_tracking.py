"""MlflowTracking: config becomes the server's or app's properties; role and grants are scoped to it."""

from __future__ import annotations

import json

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from kit_constructs.mlflow_tracking import READ_ACTIONS, TRACING_ACTIONS, mlflow_resource_name
from stacks.kit_app import cdk_json_context
from tests.governance.test_mlflow_rules import APP, SERVER, mlflow
from tests.helpers import only, resources

pytestmark = pytest.mark.synth


def synth(config, grant=None) -> tuple[dict, object]:
    stack = Stack(App(context=cdk_json_context()), "S", env=Environment(account="123456789012", region="us-east-1"))
    tracking = mlflow(stack, config)
    if grant:
        grant(tracking, iam.Role(stack, "Agent", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")))
    return Template.from_stack(stack).to_json(), stack.resolve(tracking.tracking_uri)


def agent_statements(template: dict) -> list[dict]:
    policy = next(p for k, p in resources(template, "AWS::IAM::Policy").items() if k.startswith("AgentDefaultPolicy"))
    return policy["Properties"]["PolicyDocument"]["Statement"]


def actions_of(statement: dict) -> list[str]:
    return [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]


def test_tracking_server_properties_come_from_config():
    template, uri = synth(SERVER)
    server = only(resources(template, "AWS::SageMaker::MlflowTrackingServer"))["Properties"]
    assert server["TrackingServerSize"] == "Small" and server["MlflowVersion"] == "3.0"
    assert server["WeeklyMaintenanceWindowStart"] == "Tue:03:30" and server["AutomaticModelRegistration"] is True
    assert server["TrackingServerName"] == "gate-test"
    bucket = next(
        iter(
            resources(template, "AWS::S3::Bucket").keys()
            - {k for k in resources(template, "AWS::S3::Bucket") if k.startswith("AccessLogs")}
        )
    )
    assert server["ArtifactStoreUri"] == {"Fn::Join": ["", ["s3://", {"Ref": bucket}, "/mlflow"]]}
    assert uri == {
        "Fn::GetAtt": [next(iter(resources(template, "AWS::SageMaker::MlflowTrackingServer"))), "TrackingServerArn"]
    }
    assert "VpcConfig" not in server and "KmsKeyId" not in server  # SageMaker-managed: no such properties


def test_app_properties_come_from_config():
    template, uri = synth(APP)
    [(logical_id, app)] = resources(template, "AWS::SageMaker::MlflowApp").items()
    assert app["Properties"]["ModelRegistrationMode"] == "AutoModelRegistrationDisabled"
    assert app["Properties"]["WeeklyMaintenanceWindowStart"] == "Sat:22:00"
    assert uri == {"Fn::GetAtt": [logical_id, "Arn"]}
    artifacts = next(b for k, b in resources(template, "AWS::S3::Bucket").items() if k.startswith("MlflowArtifacts"))
    assert artifacts["Properties"]["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 30
    assert artifacts["Properties"]["LoggingConfiguration"]["LogFilePrefix"] == "mlflow-artifacts/"


def test_service_role_is_trusted_by_sagemaker_and_limited_to_the_prefix_and_key():
    template, _ = synth(SERVER)
    trust = only(resources(template, "AWS::IAM::Role"))["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}}
    ]
    statements = {
        s["Sid"]: s
        for s in only(resources(template, "AWS::IAM::ManagedPolicy"))["Properties"]["PolicyDocument"]["Statement"]
    }
    assert json.dumps(statements["ArtifactObjects"]["Resource"]).endswith('"/mlflow/*"]]}')
    assert statements["ArtifactListing"]["Condition"] == {"StringLike": {"s3:prefix": ["mlflow", "mlflow/*"]}}
    assert statements["ArtifactEncryption"]["Resource"] == {"Fn::GetAtt": ["Key961B73FD", "Arn"]}
    assert not any(s["Resource"] == "*" for s in statements.values())
    assert statements["ModelRegistrySync"]["Resource"] == [  # automatic registration: this account and region
        "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/*",
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/*",
    ]


def test_app_without_registration_gets_no_model_registry_access():
    template, _ = synth(APP)
    sids = [
        s["Sid"]
        for s in only(resources(template, "AWS::IAM::ManagedPolicy"))["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert "ModelRegistrySync" not in sids


@pytest.mark.parametrize(
    "config, extra", [(SERVER, []), (APP, ["sagemaker:CallMlflowAppApi"])], ids=["tracking_server", "app"]
)
def test_grant_tracing_gives_exactly_the_tracing_actions_on_this_resource(config, extra):
    template, uri = synth(config, lambda tracking, agent: tracking.grant_tracing(agent))
    statements = agent_statements(template)
    [mlflow_statement] = [s for s in statements if any(a.startswith("sagemaker") for a in actions_of(s))]
    assert sorted(actions_of(mlflow_statement)) == sorted(list(TRACING_ACTIONS) + extra)
    assert mlflow_statement["Resource"] == uri
    assert not any("*" in action for s in statements for action in actions_of(s) if action.startswith("sagemaker"))
    s3_statement = next(s for s in statements if "s3:PutObject" in actions_of(s))
    # The artifact bucket is named, so the grant carries its literal ARN (no cross-stack export).
    assert json.dumps(s3_statement["Resource"]).endswith(':s3:::gate-test-mlflow-123456789012/mlflow/*"]]}')
    assert not any(a in ("s3:DeleteObject", "s3:GetObject") for s in statements for a in actions_of(s))


@pytest.mark.parametrize(
    "config, ui",
    [
        (SERVER, "sagemaker:CreatePresignedMlflowTrackingServerUrl"),
        (APP, "sagemaker:CreatePresignedMlflowAppUrl"),
    ],
    ids=["tracking_server", "app"],
)
def test_grant_read_is_read_only_and_scoped(config, ui):
    template, uri = synth(config, lambda tracking, agent: tracking.grant_read(agent))
    statements = agent_statements(template)
    [mlflow_statement] = [s for s in statements if any(a.startswith("sagemaker") for a in actions_of(s))]
    actions = actions_of(mlflow_statement)
    assert set(READ_ACTIONS) <= set(actions) and ui in actions
    assert mlflow_statement["Resource"] == uri
    writes = ("Create", "Update", "Delete", "Log", "Set", "Start", "End", "Finalize", "Put")
    assert not [a for a in READ_ACTIONS if a.split(":")[1].startswith(writes)]
    assert not any(a.startswith("s3:Put") or a.startswith("s3:Delete") for s in statements for a in actions_of(s))


def test_resource_names_follow_sagemaker_pattern():
    assert mlflow_resource_name("governed-agents", "dev") == "governed-agents-dev"
    assert mlflow_resource_name("My Project_1", "prod") == "My-Project-1-prod"
