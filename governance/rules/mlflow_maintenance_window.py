"""Kit-MlflowMaintenanceWindow: every MLflow tracking server or app declares its weekly maintenance window."""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from governance.kit_rule import RuleResult, cfn_properties
from governance.policy import GovernancePolicy
from governance.rules.mlflow_artifact_store import MLFLOW_TYPES


class MlflowMaintenanceWindow:
    rule_id = "MlflowMaintenanceWindow"
    resource_types = MLFLOW_TYPES  # check() is NOT_APPLICABLE to any other type
    info = "The MLflow tracking server or app has no weekly maintenance window."
    explanation = (
        "SageMaker patches managed MLflow during a weekly window, and tracking is unavailable while it "
        "does; without a declared window SageMaker picks one, possibly during business hours or a "
        "release. Set WeeklyMaintenanceWindowStart (Ddd:HH:MM, UTC) from the environment's config."
    )

    def check(self, node: CfnResource, policy: GovernancePolicy) -> RuleResult:
        if node.cfn_resource_type not in MLFLOW_TYPES:
            return NagRuleCompliance.NOT_APPLICABLE
        if cfn_properties(node).get("WeeklyMaintenanceWindowStart"):
            return NagRuleCompliance.COMPLIANT
        return ["NoMaintenanceWindow"]
