"""Every environment gets managed MLflow of its configured kind, a private path to it, and outputs."""

from __future__ import annotations

import pytest

from kit_config.schema import MlflowTrackingServerConfig
from tests.helpers import ENVIRONMENTS, only, resources

KIND_TYPES = {"tracking_server": "AWS::SageMaker::MlflowTrackingServer", "app": "AWS::SageMaker::MlflowApp"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_environment_has_one_mlflow_resource_of_its_configured_kind(synthesized, env):
    config = synthesized.configs[env].mlflow
    template = synthesized.templates[(env, "Mlflow")]
    [(logical_id, resource)] = [(k, v) for k, v in template["Resources"].items() if v["Type"] in KIND_TYPES.values()]
    assert resource["Type"] == KIND_TYPES[config.kind]
    properties = resource["Properties"]
    assert properties["WeeklyMaintenanceWindowStart"] == config.weekly_maintenance_window_start
    if isinstance(config, MlflowTrackingServerConfig):
        assert (properties["TrackingServerSize"], properties["MlflowVersion"]) == (config.size, config.mlflow_version)
        assert properties["AutomaticModelRegistration"] is config.automatic_model_registration
    # retain: kept on deletion and replacement, but removed when a first create rolls back (named resource).
    retained = synthesized.configs[env].removal_policy == "retain"
    assert resource["DeletionPolicy"] == ("RetainExceptOnCreate" if retained else "Delete")
    assert resource["UpdateReplacePolicy"] == ("Retain" if retained else "Delete")
    attribute = "TrackingServerArn" if config.kind == "tracking_server" else "Arn"
    assert template["Outputs"]["TrackingUri"]["Value"] == {"Fn::GetAtt": [logical_id, attribute]}
    assert "ArtifactBucketName" in template["Outputs"]


def test_every_environment_runs_a_tracking_server(synthesized):
    # An MLflow App is refused in config: the kit's isolated networks cannot reach its host (governance/egress/).
    for env in ENVIRONMENTS:
        [resource] = resources(synthesized.templates[(env, "Mlflow")], KIND_TYPES["tracking_server"]).values()
        assert resource["Properties"]["MlflowVersion"] == "3.0"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_artifact_store_is_kms_encrypted_and_logs_to_the_environment_access_log_bucket(synthesized, env):
    template = synthesized.templates[(env, "Mlflow")]
    bucket = only(resources(template, "AWS::S3::Bucket"))["Properties"]
    [rule] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert "Fn::GetStackOutput" in rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]  # Foundation's storage key
    assert (
        bucket["LoggingConfiguration"]["DestinationBucketName"]["Fn::GetStackOutput"]["StackName"]
        == f"{env}-Foundation"
    )
    lifecycle = bucket["LifecycleConfiguration"]["Rules"][0]
    assert lifecycle["NoncurrentVersionExpiration"]["NoncurrentDays"] == synthesized.configs[env].log_retention_days
    retention = synthesized.configs[env].mlflow.artifact_retention_days
    assert lifecycle.get("ExpirationInDays") == retention


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_experiments_endpoint_admits_only_this_environments_mlflow(synthesized, env):
    config = synthesized.configs[env]
    template = synthesized.templates[(env, "Network")]
    endpoints = resources(template, "AWS::EC2::VPCEndpoint")
    with_policy = {k: v for k, v in endpoints.items() if v["Properties"].get("PolicyDocument")}
    assert list(with_policy) == [next(k for k in endpoints if k.startswith("NetworkMlflowExperimentsEndpoint"))]
    [statement] = next(iter(with_policy.values()))["Properties"]["PolicyDocument"]["Statement"]
    arn = f"arn:aws:sagemaker:{config.region}:{config.account}"
    if config.mlflow.kind == "tracking_server":
        assert statement["Resource"] == f"{arn}:mlflow-tracking-server/governed-agents-{env}"
    else:
        assert statement["Resource"] == f"{arn}:mlflow-app/*"
        assert statement["Condition"]["StringEquals"]["aws:ResourceTag/Environment"] == env
    assert statement["Condition"]["StringEquals"]["aws:PrincipalAccount"] == config.account


def test_consumers_get_typed_properties(synthesized):
    stage = synthesized.kit.stages[0]
    tracking = stage.mlflow.tracking
    assert tracking.tracking_uri and tracking.artifact_bucket.bucket_name
    assert callable(tracking.grant_tracing) and callable(tracking.grant_read)
