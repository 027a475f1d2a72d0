"""Acknowledging cdk-nag findings: one finding per id, on the construct it concerns, with its reason.

Finding ids are built by `finding_id` only (`acknowledge` refuses any other key):
`finding_id("AwsSolutions-S1")`, `finding_id("AwsSolutions-IAM5", "Resource", "*")` ->
`AwsSolutions-IAM5[Resource::*]`, `finding_id("Kit-S3BucketBaseline", "NotKmsEncrypted")`. A part
that names a resource is written as the packs print it: `logical_arn(bucket)` for a resource's
`Fn::GetAtt Arn` (`<Logical1234.Arn>`), `resolved(scope, value)` for a string whose tokens the
stack resolves to literals (its account, region and partition).
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct


class FindingId(str):
    """A finding id as cdk-nag reports it; only `finding_id` makes one."""


def finding_id(rule_id: str, *detail: str) -> FindingId:
    """`rule_id`, or `rule_id[part::part...]` for a finding about one resource, action, policy or case."""
    if not rule_id or "[" in rule_id or any(not part for part in detail):
        raise ValueError(f"not a rule id and finding parts: {rule_id!r} {detail!r}")
    return FindingId(f"{rule_id}[{'::'.join(detail)}]" if detail else rule_id)


def logical_arn(resource: IConstruct) -> str:
    """`<LogicalId.Arn>`: how the packs print `Fn::GetAtt [LogicalId, Arn]` of `resource` (an L1, or an
    L2 whose default child is the resource)."""
    cfn = resource.node.default_child or resource
    return f"<{Stack.of(cfn).get_logical_id(cfn)}.Arn>"


def resolved(scope: IConstruct, value: str) -> str:
    """`value` with the tokens of `scope`'s stack (account, region, partition) resolved to literals."""
    literal = Stack.of(scope).resolve(value)
    if not isinstance(literal, str):
        raise ValueError(f"{value!r} does not resolve to a literal in {Stack.of(scope).stack_name}: {literal!r}")
    return literal


def acknowledge(construct: IConstruct, reasons: dict[FindingId, str]) -> None:
    """`{finding_id("AwsSolutions-IAM5", "Resource", ...): "why this finding is accepted", ...}` on `construct`."""
    for rule_id, reason in reasons.items():
        if not isinstance(rule_id, FindingId):
            raise TypeError(f"{rule_id!r}: build finding ids with finding_id()")
        Validations.of(construct).acknowledge(Acknowledgment(id=str(rule_id), reason=reason))
