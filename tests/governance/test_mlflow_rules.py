"""Kit-MlflowArtifactStore and Kit-MlflowMaintenanceWindow reject non-compliant MLflow resources at synth."""

from __future__ import annotations

import pytest
from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker

from kit_config.schema import MlflowAppConfig, MlflowTrackingServerConfig
from kit_constructs.mlflow_tracking import MlflowTracking, MlflowTrackingProps
from kit_constructs.secure_bucket import AccessLogBucket, AccessLogBucketProps
from tests.governance.test_kit_rules import kit_findings
from tests.helpers import gate_findings

pytestmark = pytest.mark.synth

SERVER = MlflowTrackingServerConfig(
    kind="tracking_server",
    size="Small",
    mlflow_version="3.0",
    weekly_maintenance_window_start="Tue:03:30",
    automatic_model_registration=True,
)
APP = MlflowAppConfig(kind="app", weekly_maintenance_window_start="Sat:22:00", artifact_retention_days=30)


def mlflow(stack, config=SERVER) -> MlflowTracking:
    key = kms.Key(stack, "Key", enable_key_rotation=True, removal_policy=RemovalPolicy.DESTROY)
    logs = AccessLogBucket(
        stack, "AccessLogs", AccessLogBucketProps(retention_days=365, removal_policy=RemovalPolicy.DESTROY)
    )
    return MlflowTracking(
        stack,
        "Mlflow",
        MlflowTrackingProps(
            config=config,
            name="gate-test",
            storage_key=key,
            access_logs=logs,
            removal_policy=RemovalPolicy.DESTROY,
            noncurrent_version_days=30,
        ),
    )


def role(stack) -> iam.Role:
    return iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))


@pytest.mark.parametrize("config", [SERVER, APP], ids=["tracking_server", "app"])
def test_mlflow_construct_passes_every_pack(tmp_path, config):
    assert gate_findings(lambda stack: mlflow(stack, config), tmp_path=tmp_path) == {}


def test_artifact_store_rule_rejects_a_non_compliant_bucket(tmp_path):
    def build(stack):
        bucket = s3.Bucket(stack, "Plain", removal_policy=RemovalPolicy.DESTROY)
        sagemaker.CfnMlflowTrackingServer(
            stack,
            "Server",
            tracking_server_name="plain",
            artifact_store_uri=f"s3://{bucket.bucket_name}/mlflow",
            role_arn=role(stack).role_arn,
            weekly_maintenance_window_start="Tue:03:30",
        )

    findings = kit_findings(gate_findings(build, tmp_path=tmp_path), "MlflowArtifactStore")
    assert findings == {
        "Kit-MlflowArtifactStore[ArtifactStore::NotKmsEncrypted]": ["gate/UnderTest/Server"],
        "Kit-MlflowArtifactStore[ArtifactStore::NotVersioned]": ["gate/UnderTest/Server"],
        "Kit-MlflowArtifactStore[ArtifactStore::PublicAccessNotBlocked]": ["gate/UnderTest/Server"],
        "Kit-MlflowArtifactStore[ArtifactStore::TlsNotEnforced]": ["gate/UnderTest/Server"],
    }


def test_artifact_store_rule_rejects_a_bucket_the_app_does_not_define(tmp_path):
    def build(stack):
        sagemaker.CfnMlflowApp(
            stack,
            "App",
            name="elsewhere",
            artifact_store_uri="s3://someone-elses-bucket/mlflow",
            role_arn=role(stack).role_arn,
            weekly_maintenance_window_start="Tue:03:30",
        )

    findings = kit_findings(gate_findings(build, tmp_path=tmp_path), "MlflowArtifactStore")
    assert findings == {"Kit-MlflowArtifactStore[NotABucketOfThisApp]": ["gate/UnderTest/App"]}


def test_maintenance_window_rule_rejects_a_server_without_one(tmp_path):
    def build(stack):
        tracking = mlflow(stack)
        tracking.resource.weekly_maintenance_window_start = None  # an escape-hatch edit

    findings = gate_findings(build, tmp_path=tmp_path)
    assert findings == {"Kit-MlflowMaintenanceWindow[NoMaintenanceWindow]": ["gate/UnderTest/Mlflow/TrackingServer"]}


def test_mlflow_rules_accept_the_kit_construct(tmp_path):
    findings = gate_findings(mlflow, tmp_path=tmp_path)
    assert kit_findings(findings, "Mlflow") == {}
