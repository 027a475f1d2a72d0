"""Kit-RequiredTags: every taggable resource carries the environment's required tags."""

from aws_cdk import CfnResource, Stack, TagManager
from cdk_nag import NagRuleCompliance

from governance.kit_rule import RuleResult, findings_or_compliant
from governance.policy import GovernancePolicy


class RequiredTags:
    rule_id = "RequiredTags"
    info = "The resource is missing one or more of the environment's required tags."
    explanation = (
        "Cost allocation, ownership and data-classification controls key off tags "
        "(Project, Environment, Owner, CostCenter, DataClassification); an untagged resource "
        "escapes all of them."
    )

    def check(self, node: CfnResource, policy: GovernancePolicy) -> RuleResult:
        if TagManager.is_taggable(node):
            present = node.tags.tag_values()
        elif type(node) is CfnResource and _is_aws_resource(node.cfn_resource_type):
            # CDK-internal resources (e.g. custom-resource provider functions and roles) are
            # plain CfnResources that CDK cannot tag; they receive the stack's tags, which
            # CloudFormation propagates to every taggable resource at deploy time.
            present = Stack.of(node).tags.tag_values()
        else:
            return NagRuleCompliance.NOT_APPLICABLE  # the resource type has no tags
        return findings_or_compliant([f"Missing::{key}" for key in policy.required_tag_keys if not present.get(key)])


def _is_aws_resource(resource_type: str) -> bool:
    # Custom::* resources and CDK's own AWS::CDK::Metadata are not AWS resources and carry no tags.
    return resource_type.startswith("AWS::") and not resource_type.startswith("AWS::CDK::")
