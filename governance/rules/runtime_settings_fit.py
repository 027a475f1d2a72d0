"""Kit-RuntimeSettingsFit: a function's environment and a task definition stay within AWS's size limits.

CloudFormation accepts any size; the service rejects it at deploy. Lambda allows 4 KB "for all
environment variables associated with the function, in aggregate" (Lambda quotas,
https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html); ECS allows a task
definition of at most 64 KiB ("Task definition size", not adjustable,
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html). The agent's
settings travel as environment variables, the Fargate agent's JWKS among them.

A value only known at deploy time (a Ref, an ARN from another stack) is counted as
`UNRESOLVED_VALUE_BYTES`, more than any name or ARN the kit passes.
"""

from __future__ import annotations

import json

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from governance.kit_rule import RuleResult, cfn_properties, findings_or_compliant
from governance.policy import GovernancePolicy

LAMBDA_ENVIRONMENT_BYTES = 4 * 1024
TASK_DEFINITION_BYTES = 64 * 1024
UNRESOLVED_VALUE_BYTES = 256


class RuntimeSettingsFit:
    rule_id = "RuntimeSettingsFit"
    resource_types = (
        "AWS::Lambda::Function",
        "AWS::ECS::TaskDefinition",
    )  # check() is NOT_APPLICABLE to any other type
    info = "The Lambda function's environment variables exceed 4 KB, or the ECS task definition exceeds 64 KiB."
    explanation = (
        "Lambda and ECS reject the deployment, not CloudFormation's validation. Move large values out of the "
        "environment (Lambda), or shrink them (a JWKS: drop retired keys and certificate chains)."
    )

    def check(self, node: CfnResource, policy: GovernancePolicy) -> RuleResult:
        if node.cfn_resource_type == "AWS::Lambda::Function":
            variables = (cfn_properties(node).get("Environment") or {}).get("Variables") or {}
            return findings_or_compliant(
                ["LambdaEnvironmentTooLarge"] if size(variables) > LAMBDA_ENVIRONMENT_BYTES else []
            )
        if node.cfn_resource_type == "AWS::ECS::TaskDefinition":
            return findings_or_compliant(
                ["TaskDefinitionTooLarge"] if size(cfn_properties(node)) > TASK_DEFINITION_BYTES else []
            )
        return NagRuleCompliance.NOT_APPLICABLE


def size(value: object) -> int:
    """Bytes of `value` as compact JSON, each CloudFormation intrinsic counted as a deploy-time value."""
    return len(json.dumps(_resolved(value), separators=(",", ":")).encode())


def _resolved(value: object) -> object:
    if isinstance(value, dict):
        if len(value) == 1 and (next(iter(value)) == "Ref" or next(iter(value)).startswith("Fn::")):
            return "x" * UNRESOLVED_VALUE_BYTES
        return {key: _resolved(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolved(item) for item in value]
    return value
