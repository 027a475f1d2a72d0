"""Physical names the kit derives from config, and the rules AWS applies to each.

The `Project` tag and the environment name become parts of resource names; a name a service
rejects fails `cdk deploy` half-way through a stack. `EnvironmentConfig` checks every derived name
here at config load. The constructs build the same names (the functions below are the single
definition; `kit_constructs` should call them rather than format the names again).
"""

from __future__ import annotations

import re

# The agent's alarm ids (kit_constructs.agent_service.DeployedAgent and its host's alarm), longest last.
AGENT_ALARM_IDS = ("Errors", "Throttles", "LatencyP95", "LoadBalancer5xx", "LoadBalancerElb5xx", "ConcurrencyThrottles")
KMS_KEY_PURPOSES = (
    "logs",
    "storage",
    "inference",
    "notifications",
    "functions",
    "caller-ids",
)  # kit_constructs.encryption_keys.KEY_PURPOSES


def mlflow_resource_name(project: str, env_name: str) -> str:
    """The tracking server's or app's name: `<project>-<env>`, in SageMaker's allowed characters."""
    return re.sub(r"-+", "-", re.sub(r"[^A-Za-z0-9]", "-", f"{project}-{env_name}")).strip("-")


def mlflow_artifact_bucket_name(project: str, env_name: str, account: str) -> str:
    return f"{mlflow_resource_name(project, env_name)}-mlflow-{account}".lower()


def budget_name(project: str, env_name: str) -> str:
    return f"{project}-{env_name}-monthly"


def dashboard_name(project: str, env_name: str) -> str:
    return f"{project}-{env_name}-operations"


def kms_alias(project: str, env_name: str, purpose: str) -> str:
    return f"alias/{project}/{env_name}/{purpose}"


def agent_alarm_name(project: str, env_name: str, alarm_id: str) -> str:
    return f"{project}-{env_name}-agent-{alarm_id}"


def name_problems(project: str, env_name: str, account: str) -> list[str]:
    """What AWS would reject among the names derived from `project` and `env_name`."""
    problems = []
    bucket = mlflow_artifact_bucket_name(project, env_name, account)
    # S3 general purpose bucket naming rules: 3-63 characters, lower-case letters, digits, dots
    # and hyphens, starting and ending with a letter or digit
    # (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
    if len(bucket) > 63 or not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket):
        problems.append(f"MLflow artifact bucket {bucket!r} ({len(bucket)} characters; S3 allows 3-63)")
    server = mlflow_resource_name(project, env_name)
    # CreateMlflowTrackingServer TrackingServerName / CreateMlflowApp Name: 1-256,
    # [a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}
    # (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateMlflowTrackingServer.html).
    if not re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}", server):
        problems.append(f"MLflow tracking server/app name {server!r} (1-256 letters, digits and inner hyphens)")
    for purpose in KMS_KEY_PURPOSES:
        alias = kms_alias(project, env_name, purpose)
        # CreateAlias AliasName: 1-256 of [a-zA-Z0-9:/_-]; "cannot begin with alias/aws/. The alias/aws/
        # prefix is reserved for AWS managed keys" (https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html).
        if len(alias) > 256 or not re.fullmatch(r"[a-zA-Z0-9:/_-]+", alias):
            problems.append(f"KMS alias {alias!r} (letters, digits, / _ - only; at most 256)")
            break
        if alias.lower().startswith("alias/aws/"):
            problems.append(f"KMS alias {alias!r} (alias/aws/ is reserved for AWS managed keys)")
            break
    dashboard = dashboard_name(project, env_name)
    # PutDashboard DashboardName: at most 255 of A-Z a-z 0-9 - _
    # (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html).
    if len(dashboard) > 255 or not re.fullmatch(r"[A-Za-z0-9_-]+", dashboard):
        problems.append(f"CloudWatch dashboard {dashboard!r} (letters, digits, - _ only; at most 255)")
    budget = budget_name(project, env_name)
    # Budget BudgetName: 1-100 characters without : or \
    # (https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_Budget.html).
    if len(budget) > 100 or re.search(r"[:\\]", budget):
        problems.append(f"AWS Budgets budget {budget!r} (at most 100 characters, no : or \\)")
    alarm = agent_alarm_name(project, env_name, max(AGENT_ALARM_IDS, key=len))
    # PutMetricAlarm AlarmName: 1-255 characters
    # (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html).
    if len(alarm) > 255:
        problems.append(f"CloudWatch alarm {alarm!r} ({len(alarm)} characters; at most 255)")
    return problems
