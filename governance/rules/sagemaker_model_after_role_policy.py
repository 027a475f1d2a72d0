"""Kit-SageMakerModelAfterRolePolicy: a model is created only after its execution role's policies are attached.

CreateModel validates, as the execution role, that SageMaker can pull the image and read the model
data; CloudFormation creates a model as soon as its role exists unless it depends on the role's
policies too, so the first deploy can fail on a race ("CreateModel", SageMaker API Reference:
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModel.html — ExecutionRoleArn;
CloudFormation "DependsOn attribute":
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-dependson.html).
An endpoint config with its own `ExecutionRoleArn` (one that hosts inference components) is held to
the same: SageMaker assumes that role for the components it places (docs/deploy-readiness.md C2).
"""

from aws_cdk import CfnResource, Stack
from cdk_nag import NagRuleCompliance

from governance.kit_rule import RuleResult, cfn_properties, findings_or_compliant
from governance.policy import GovernancePolicy
from governance.template_graph import depends_on, resource, role_policy_documents

_TYPES = (
    "AWS::SageMaker::Model",
    "AWS::SageMaker::EndpointConfig",
    "AWS::SageMaker::MlflowTrackingServer",
    "AWS::SageMaker::MlflowApp",
)


class SageMakerModelAfterRolePolicy:
    rule_id = "SageMakerModelAfterRolePolicy"
    resource_types = _TYPES  # check() is NOT_APPLICABLE to any other type
    info = "The SageMaker model does not depend on its execution role's policy: CreateModel can run before the policy is attached."
    explanation = (
        "SageMaker checks the execution role's access to the image and the weights when the model is created; "
        "add a dependency from the model on every policy of the role (node.add_dependency(policy))."
    )

    def check(self, node: CfnResource, policy: GovernancePolicy) -> RuleResult:
        if node.cfn_resource_type not in _TYPES:
            return NagRuleCompliance.NOT_APPLICABLE
        stack = Stack.of(node)
        properties = cfn_properties(node)
        role = resource(stack, properties.get("ExecutionRoleArn") or properties.get("RoleArn"))
        if role is None:
            return NagRuleCompliance.NOT_APPLICABLE  # no role of its own, or an imported one: nothing to wait for
        missing = [
            stack.get_logical_id(policy_resource)
            for policy_resource, _ in role_policy_documents(stack, role)
            if policy_resource.node.path != role.node.path and not depends_on(node, policy_resource)
        ]
        return findings_or_compliant([f"NotAfter::{logical_id}" for logical_id in missing])
