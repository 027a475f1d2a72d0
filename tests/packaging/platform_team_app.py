"""A platform team's own CDK app, NOT the kit's: one stack with its own name, account, tags and
policy, the kit's constructs and the kit's governance pack, none of the kit's stages or config files.

Run: python platform_team_app.py isolated|open [no-flags]   (CDK_OUTDIR chooses the output folder)
"""

import sys

from aws_cdk import App, RemovalPolicy, Stack, Tags, Validations
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker

from governance.kit_pack import KitChecks
from governance.policy import GovernancePolicy
from kit_config.schema import MlflowAppConfig
from kit_constructs.mlflow_tracking import MlflowTracking, MlflowTrackingProps
from kit_constructs.secure_bucket import ACCESS_LOGS_BY_POLICY_FLAG, AccessLogBucket, AccessLogBucketProps

model_isolated = sys.argv[1] == "isolated"
# The team's cdk.json, as `cdk init` writes it, carries the flag; "no-flags" is an app without it.
app = App(context=None if "no-flags" in sys.argv else {ACCESS_LOGS_BY_POLICY_FLAG: True})
stack = Stack(app, "ResearchPlatform", env={"account": "111122223333", "region": "eu-west-1"})
key = kms.Key(stack, "Key", enable_key_rotation=True, removal_policy=RemovalPolicy.DESTROY)
logs = AccessLogBucket(
    stack, "AccessLogs", AccessLogBucketProps(retention_days=400, removal_policy=RemovalPolicy.DESTROY)
)
MlflowTracking(
    stack,
    "Tracking",
    MlflowTrackingProps(
        config=MlflowAppConfig(kind="app", weekly_maintenance_window_start="Sun:02:00"),
        name="research-mlflow",
        storage_key=key,
        access_logs=logs,
        removal_policy=RemovalPolicy.DESTROY,
        noncurrent_version_days=400,
    ),
)
vpc = sagemaker.CfnModel.VpcConfigProperty(
    security_group_ids=["sg-0123456789abcdef0"], subnets=["subnet-0123456789abcdef0"]
)
sagemaker.CfnModel(
    stack,
    "Model",
    execution_role_arn="arn:aws:iam::111122223333:role/research-model",
    primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
        image="111122223333.dkr.ecr.eu-west-1.amazonaws.com/llm:1"
    ),
    enable_network_isolation=model_isolated,
    vpc_config=vpc if model_isolated else None,
)
Tags.of(app).add("team", "research")
policy = GovernancePolicy(required_tag_keys=("team",), min_log_retention_days=400)
Validations.of(app).add_plugins(KitChecks(app, policies={}, default_policy=policy))
app.synth()
