"""Kit-IamMatchesServiceReference: every IAM statement names real actions, resources of their types, defined condition keys.

Identity policies (AWS::IAM::Policy, AWS::IAM::ManagedPolicy, a role's inline policies and trust
policy) and the resource policies that follow the same action + resource model (KMS key policies,
S3 bucket, SNS topic and SQS queue policies, VPC endpoint policies) are checked statement by
statement against AWS's Service Authorization Reference (`governance.iam_statements`,
`governance.iam_reference`). IAM accepts each of these mistakes and the grant then matches nothing:
e.g. `logs:DescribeLogGroups` supports no resource-level permission, so granting it on one log
group's ARN grants nothing.

Resource references are typed by what they name: `Fn::GetAtt` / `Ref` of a resource in the same
stack, and cross-stack references (`Fn::GetStackOutput`, `Fn::ImportValue`) followed to the output
of the stack in the same stage that produces them.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from aws_cdk import CfnOutput, CfnResource, Stack, Stage
from cdk_nag import NagRuleCompliance

from governance.arn_forms import ResolvedReference
from governance.iam_statements import document_findings
from governance.kit_rule import RuleResult, cfn_properties, findings_or_compliant, memoized
from governance.policy import GovernancePolicy
from governance.template_graph import resource


def _inline_and_trust(properties: dict) -> list[dict]:
    inline = [policy.get("PolicyDocument") for policy in properties.get("Policies") or []]
    return [properties.get("AssumeRolePolicyDocument"), *inline]


# Where each resource type keeps its policy documents (CloudFormation property names).
POLICY_DOCUMENTS: dict[str, Callable[[dict], list]] = {
    "AWS::IAM::Policy": lambda p: [p.get("PolicyDocument")],
    "AWS::IAM::ManagedPolicy": lambda p: [p.get("PolicyDocument")],
    "AWS::IAM::Role": _inline_and_trust,
    "AWS::IAM::User": lambda p: [policy.get("PolicyDocument") for policy in p.get("Policies") or []],
    "AWS::IAM::Group": lambda p: [policy.get("PolicyDocument") for policy in p.get("Policies") or []],
    "AWS::KMS::Key": lambda p: [p.get("KeyPolicy")],
    "AWS::S3::BucketPolicy": lambda p: [p.get("PolicyDocument")],
    "AWS::SNS::TopicPolicy": lambda p: [p.get("PolicyDocument")],
    "AWS::SQS::QueuePolicy": lambda p: [p.get("PolicyDocument")],
    "AWS::EC2::VPCEndpoint": lambda p: [p.get("PolicyDocument")],
}


class IamMatchesServiceReference:
    rule_id = "IamMatchesServiceReference"
    resource_types = tuple(POLICY_DOCUMENTS)  # check() is NOT_APPLICABLE to any other type
    info = (
        "An IAM statement names an action the service does not have, grants an action on resources of a "
        "type it never applies to, or uses a condition key the service does not define."
    )
    explanation = (
        "IAM accepts these and the statement then grants or denies nothing (AWS Service Authorization "
        "Reference: each action's resource types and condition keys). Actions without resource-level "
        "permissions need their own statement on '*'."
    )

    def check(self, node: CfnResource, policy: GovernancePolicy) -> RuleResult:
        documents = POLICY_DOCUMENTS.get(node.cfn_resource_type)
        if documents is None:
            return NagRuleCompliance.NOT_APPLICABLE
        resolve = reference_resolver(Stack.of(node))
        findings = {
            finding
            for document in documents(cfn_properties(node))
            if isinstance(document, dict)
            for finding in document_findings(document, resolve)
        }
        return findings_or_compliant(sorted(findings))


def policy_documents(node: CfnResource) -> list[dict]:
    """The policy documents of `node` (empty for a type not in POLICY_DOCUMENTS)."""
    documents = POLICY_DOCUMENTS.get(node.cfn_resource_type)
    return [d for d in documents(cfn_properties(node)) if isinstance(d, dict)] if documents else []


def reference_resolver(stack: Stack):
    """A `governance.arn_forms.Resolver` for references as they appear in `stack`'s template (each
    reference resolved once per evaluation: statements name the same few resources again and again)."""

    def resolve(reference: dict) -> ResolvedReference | None:
        key = f"reference:{json.dumps(reference, sort_keys=True)}"
        return memoized(key, stack, lambda: _resolve(stack, reference))

    return resolve


def _resolve(stack: Stack, reference: dict) -> ResolvedReference | None:
    if "Ref" in reference or "Fn::GetAtt" in reference:
        target = resource(stack, reference)
        if target is None:
            return None
        attribute = "Ref" if "Ref" in reference else reference["Fn::GetAtt"][1]
        return ResolvedReference(target.cfn_resource_type, attribute)
    if "Fn::GetStackOutput" in reference:
        wanted = reference["Fn::GetStackOutput"]
        producer = _stage_stacks(stack).get(wanted.get("StackName"))
        output = _outputs(producer).get(wanted.get("OutputName")) if producer else None
        return _held_by(producer, output)
    if "Fn::ImportValue" in reference:
        for producer in _stage_stacks(stack).values():
            for output in _outputs(producer).values():
                if output.export_name and producer.resolve(output.export_name) == reference["Fn::ImportValue"]:
                    return _held_by(producer, output)
    return None


def _held_by(producer: Stack | None, output: CfnOutput | None) -> ResolvedReference | None:
    """What the output's value references, resolved in the stack that produces it."""
    if producer is None or output is None:
        return None
    value = producer.resolve(output.value)
    return reference_resolver(producer)(value) if isinstance(value, dict) else None


def _stage_stacks(stack: Stack) -> dict[str, Stack]:
    """The stage's stacks by stack name (what Fn::GetStackOutput names)."""
    stage = Stage.of(stack)
    return memoized(
        "stage_stacks", stage, lambda: {c.stack_name: c for c in stage.node.find_all() if Stack.is_stack(c)}
    )


def _outputs(stack: Stack) -> dict[str, CfnOutput]:
    """The stack's own outputs by logical id; values are resolved only for the ones a reference names."""

    def read():
        return {
            stack.get_logical_id(construct): construct
            for construct in stack.node.find_all()
            if isinstance(construct, CfnOutput) and Stack.of(construct).node.path == stack.node.path
        }

    return memoized("stack_outputs", stack, read)
