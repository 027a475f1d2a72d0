"""Kit-SnsPublishersAllowed: every AWS service that publishes to a topic is allowed to by its topic policy.

An `AWS::SNS::TopicPolicy` replaces the topic's default policy (the one that lets the owner account,
and with it CloudWatch alarms, publish). A policy with only a Deny (what `enforce_ssl` creates)
leaves no service principal an Allow: alarms go to ALARM and nobody is notified ("Amazon SNS
access policy", https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html;
CloudWatch "Using Amazon SNS notifications": the topic policy must allow cloudwatch.amazonaws.com,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html;
AWS Budgets: budgets.amazonaws.com, https://docs.aws.amazon.com/cost-management/latest/userguide/budgets-sns-policy.html).

The publishers are found in the same stage: CloudWatch alarms whose actions name the topic, and
budgets with an SNS subscriber that is the topic. The Allow must carry `aws:SourceAccount` or
`aws:SourceArn` (confused-deputy protection).
"""

from __future__ import annotations

from aws_cdk import CfnResource, Stack, Stage
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_cloudwatch as cloudwatch
from cdk_nag import NagRuleCompliance

from governance.kit_rule import RuleResult, cfn_properties, findings_or_compliant
from governance.policy import GovernancePolicy

CLOUDWATCH = "cloudwatch.amazonaws.com"
BUDGETS = "budgets.amazonaws.com"
_SOURCE_KEYS = {"aws:sourceaccount", "aws:sourcearn", "aws:sourceowner"}


class SnsPublishersAllowed:
    rule_id = "SnsPublishersAllowed"
    resource_types = ("AWS::SNS::TopicPolicy",)  # check() is NOT_APPLICABLE to any other type
    info = "A service publishes to this topic but the topic policy gives it no Allow for sns:Publish."
    explanation = (
        "A topic policy replaces SNS's default policy; CloudWatch alarms and AWS Budgets publish as service "
        "principals and need their own Allow (with aws:SourceAccount/aws:SourceArn), or no one is ever notified."
    )

    def check(self, node: CfnResource, policy: GovernancePolicy) -> RuleResult:
        if node.cfn_resource_type != "AWS::SNS::TopicPolicy":
            return NagRuleCompliance.NOT_APPLICABLE
        stack = Stack.of(node)
        properties = cfn_properties(node)
        topics = [ref["Ref"] for ref in properties.get("Topics") or [] if isinstance(ref, dict) and "Ref" in ref]
        publishers = {principal for topic in topics for principal in publishers_of(stack, topic, Stage.of(node))}
        allowed = allowed_publishers(properties.get("PolicyDocument") or {})
        return findings_or_compliant([f"NoPublishAllow::{principal}" for principal in sorted(publishers - allowed)])


def publishers_of(stack: Stack, topic_logical_id: str, stage: Stage) -> set[str]:
    """Service principals that publish to the topic: alarms naming it in an action, budgets subscribing it."""
    reference = {"Ref": topic_logical_id}
    principals = set()
    for construct in stage.node.find_all():
        if isinstance(construct, cloudwatch.CfnAlarm):
            # Each list is a lazy list token: resolve them one by one (tokens cannot be concatenated).
            lists = (construct.alarm_actions, construct.ok_actions, construct.insufficient_data_actions)
            if any(reference in _resolved_in(stack, actions) for actions in lists if actions):
                principals.add(CLOUDWATCH)
        elif isinstance(construct, budgets.CfnBudget):
            # Budget property structs resolve with jsii's camelCase keys.
            notifications = _resolved_in(stack, construct.notifications_with_subscribers)
            addresses = [
                s.get("address")
                for n in notifications
                for s in (n.get("subscribers") or [])
                if s.get("subscriptionType") == "SNS"
            ]
            if reference in addresses:
                principals.add(BUDGETS)
    return principals


def allowed_publishers(document: dict) -> set[str]:
    allowed = set()
    for statement in document.get("Statement") or []:
        actions = statement.get("Action")
        actions = [actions] if isinstance(actions, str) else actions or []
        conditions = {key.lower() for operator in (statement.get("Condition") or {}).values() for key in operator}
        if (
            statement.get("Effect") != "Allow"
            or not {"sns:Publish", "sns:*"} & set(actions)
            or not conditions & _SOURCE_KEYS
        ):
            continue
        services = (statement.get("Principal") or {}).get("Service") or []
        allowed.update([services] if isinstance(services, str) else services)
    return allowed


def _resolved_in(stack: Stack, value):
    """Tokens resolved from the topic's stack: a reference to the topic becomes {"Ref": id} wherever it is used."""
    try:
        resolved = stack.resolve(value)
    except Exception:  # a token that cannot resolve from this stack cannot name this stack's topic
        return []
    return resolved if isinstance(resolved, list) else []
