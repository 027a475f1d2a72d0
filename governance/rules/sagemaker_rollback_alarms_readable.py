"""Kit-SageMakerRollbackAlarmsReadable: the models' execution role may describe the endpoint's rollback alarms.

Deployment guardrails monitor the auto-rollback alarms as the execution role of the endpoint's
models (for an inference component's rolling update, the endpoint config's ExecutionRoleArn);
without `cloudwatch:DescribeAlarms` on them the blue/green or rolling update fails
("Deployment guardrails: auto-rollback configuration and monitoring",
https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html).
"""

from __future__ import annotations

import fnmatch

from aws_cdk import CfnResource, Stack
from cdk_nag import NagRuleCompliance

from governance.kit_rule import RuleResult, cfn_properties, findings_or_compliant
from governance.policy import GovernancePolicy
from governance.template_graph import allowed_resources, logical_id_of, resource, role_policy_documents


class SageMakerRollbackAlarmsReadable:
    rule_id = "SageMakerRollbackAlarmsReadable"
    resource_types = ("AWS::SageMaker::Endpoint", "AWS::SageMaker::InferenceComponent")  # NOT_APPLICABLE to others
    info = "An auto-rollback alarm of the endpoint is not readable (cloudwatch:DescribeAlarms) by its models' execution role."
    explanation = (
        "SageMaker reads the rollback alarms as the execution role during a blue/green update; grant "
        "cloudwatch:DescribeAlarms on exactly those alarms' ARNs."
    )

    def check(self, node: CfnResource, policy: GovernancePolicy) -> RuleResult:
        if node.cfn_resource_type not in self.resource_types:
            return NagRuleCompliance.NOT_APPLICABLE
        stack = Stack.of(node)
        properties = cfn_properties(node)
        alarms = ((properties.get("DeploymentConfig") or {}).get("AutoRollbackConfiguration") or {}).get("Alarms") or []
        if not alarms:
            return NagRuleCompliance.NOT_APPLICABLE
        if node.cfn_resource_type == "AWS::SageMaker::InferenceComponent":
            roles = self._component_role(stack, properties)
        else:
            roles = self._model_roles(stack, properties)
        if roles is None:
            return ["EndpointConfigNotInStack"]
        findings = []
        for variant_name, role in roles:
            granted = allowed_resources(
                [doc for _, doc in role_policy_documents(stack, role)], "cloudwatch:DescribeAlarms"
            )
            findings += [
                f"NotReadable::{variant_name}::{_alarm_label(a)}"
                for a in alarms
                if not _covered(stack, a.get("AlarmName"), granted)
            ]
        return findings_or_compliant(sorted(set(findings)))

    @staticmethod
    def _model_roles(stack: Stack, properties: dict) -> list | None:
        """(variant, role) of each variant's model: the roles a blue/green update reads the alarms as."""
        endpoint_config = resource(stack, properties.get("EndpointConfigName"))
        if endpoint_config is None:
            return None
        roles = []
        for variant in cfn_properties(endpoint_config).get("ProductionVariants") or []:
            model = resource(stack, variant.get("ModelName"))
            role = resource(stack, cfn_properties(model).get("ExecutionRoleArn")) if model else None
            if role is not None:  # imported model or role: not visible here
                roles.append((variant.get("VariantName"), role))
        return roles

    @staticmethod
    def _component_role(stack: Stack, properties: dict) -> list | None:
        """(variant, role) for a component: its endpoint config's ExecutionRoleArn."""
        endpoint = resource(stack, properties.get("EndpointName"))
        endpoint_config = resource(stack, cfn_properties(endpoint).get("EndpointConfigName")) if endpoint else None
        if endpoint_config is None:
            return None
        role = resource(stack, cfn_properties(endpoint_config).get("ExecutionRoleArn"))
        return [(properties.get("VariantName"), role)] if role is not None else []


def _covered(stack: Stack, alarm_name, granted: list) -> bool:
    """Granted on "*", on the alarm's own GetAtt Arn, or on a literal/joined ARN matching its name."""
    alarm_id = logical_id_of(alarm_name)
    if "*" in granted or any(
        alarm_id and isinstance(arn, dict) and "Fn::GetAtt" in arn and logical_id_of(arn) == alarm_id for arn in granted
    ):
        return True
    return _covered_by_name(stack, alarm_name, granted)


def _covered_by_name(stack: Stack, alarm_name, granted: list) -> bool:
    """A literal alarm name against literal or joined ARNs (`...:alarm:<name>`, wildcards allowed)."""
    name = alarm_name
    if logical_id_of(alarm_name):
        alarm = resource(stack, alarm_name)
        name = cfn_properties(alarm).get("AlarmName") if alarm else None
    if not isinstance(name, str):
        return False
    for arn in granted:
        text = _flatten(arn)
        if text and ":alarm:" in text and fnmatch.fnmatchcase(name, text.rsplit(":alarm:", 1)[1]):
            return True
        alarm = resource(stack, arn) if isinstance(arn, dict) and "Fn::GetAtt" in arn else None
        if alarm is not None and cfn_properties(alarm).get("AlarmName") == name:
            return True
    return False


def _flatten(arn) -> str | None:
    if isinstance(arn, str):
        return arn
    if isinstance(arn, dict) and "Fn::Join" in arn:
        separator, parts = arn["Fn::Join"]
        return separator.join(part if isinstance(part, str) else "*" for part in parts)
    return None


def _alarm_label(alarm: dict) -> str:
    name = alarm.get("AlarmName")
    return name if isinstance(name, str) else logical_id_of(name) or "?"
