"""Kit-RetainExceptOnCreate: a retained resource is deleted again when its first create rolls back.

With `DeletionPolicy: Retain`, a first deploy that fails and rolls back leaves the resource behind;
for a named resource (a log group, the MLflow bucket or tracking server, a KMS alias) the retry then
fails with "already exists". `RetainExceptOnCreate` retains on stack deletion only once the resource
was created successfully ("DeletionPolicy attribute", CloudFormation User Guide:
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html).
"""

from aws_cdk import CfnDeletionPolicy, CfnResource
from cdk_nag import NagRuleCompliance

from governance.kit_rule import RuleResult
from governance.policy import GovernancePolicy


class RetainExceptOnCreate:
    rule_id = "RetainExceptOnCreate"
    info = "The resource has DeletionPolicy Retain: a failed first deploy leaves it behind and the retry fails."
    explanation = (
        "Use RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE (DeletionPolicy RetainExceptOnCreate): the resource is "
        "kept on stack deletion, but a first create that rolls back removes it, so `cdk deploy` can be retried."
    )

    def check(self, node: CfnResource, policy: GovernancePolicy) -> RuleResult:
        deletion_policy = node.cfn_options.deletion_policy  # read once: each read is a jsii round trip
        if deletion_policy == CfnDeletionPolicy.RETAIN:
            return NagRuleCompliance.NON_COMPLIANT
        return NagRuleCompliance.NOT_APPLICABLE if deletion_policy is None else NagRuleCompliance.COMPLIANT
