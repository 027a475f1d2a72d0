"""The ARN a policy's `Resource` stands for, as a wildcard pattern, and whether two such patterns can meet.

A synthesized policy names most resources through tokens: `Fn::GetAtt [Group, Arn]`, a `Fn::Join`
of partition, region, account and a path, a cross-stack output. Each becomes a pattern in IAM's own
wildcard syntax (`*` any run of characters, `?` one): literal text stays, a pseudo parameter or an
untyped name becomes `*`, and a reference to a resource's ARN becomes the form CloudFormation
documents for that attribute (`REFERENCE_ARNS`). A resource matches an action's resource type when
its pattern and the type's ARN format (variables as `*`) have some ARN in common.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

# What `Fn::GetAtt [Id, Attribute]` / `Ref Id` returns, where it is an ARN, by resource type (each
# resource's "Return values" in the CloudFormation template reference,
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-template-resource-type-ref.html).
# A `Ref` that returns a name (a bucket, a role, a log group) is `NAME`: no ARN, matches no resource type.
NAME = "<name>"
REFERENCE_ARNS: dict[tuple[str, str], str] = {
    ("AWS::Logs::LogGroup", "Arn"): "arn:*:logs:*:*:log-group:*:*",  # ends in ":*" (the group's streams)
    ("AWS::Logs::LogGroup", "Ref"): NAME,
    ("AWS::S3::Bucket", "Arn"): "arn:*:s3:::*",
    ("AWS::S3::Bucket", "Ref"): NAME,
    ("AWS::KMS::Key", "Arn"): "arn:*:kms:*:*:key/*",
    ("AWS::KMS::Key", "Ref"): NAME,  # the key id
    ("AWS::IAM::Role", "Arn"): "arn:*:iam::*:role/*",
    ("AWS::IAM::Role", "Ref"): NAME,
    ("AWS::IAM::ManagedPolicy", "Ref"): "arn:*:iam::*:policy/*",
    ("AWS::IAM::ManagedPolicy", "PolicyArn"): "arn:*:iam::*:policy/*",
    ("AWS::SNS::Topic", "Ref"): "arn:*:sns:*:*:*",
    ("AWS::SNS::Topic", "TopicArn"): "arn:*:sns:*:*:*",
    ("AWS::CloudWatch::Alarm", "Arn"): "arn:*:cloudwatch:*:*:alarm:*",
    ("AWS::CloudWatch::Alarm", "Ref"): NAME,
    ("AWS::ECR::Repository", "Arn"): "arn:*:ecr:*:*:repository/*",
    ("AWS::ECR::Repository", "Ref"): NAME,
    ("AWS::Lambda::Function", "Arn"): "arn:*:lambda:*:*:function:*",
    ("AWS::Lambda::Function", "Ref"): NAME,
    ("AWS::SageMaker::Endpoint", "Ref"): "arn:*:sagemaker:*:*:endpoint/*",
    ("AWS::SageMaker::InferenceComponent", "Ref"): "arn:*:sagemaker:*:*:inference-component/*",
    ("AWS::SageMaker::InferenceComponent", "InferenceComponentArn"): "arn:*:sagemaker:*:*:inference-component/*",
    ("AWS::SageMaker::MlflowTrackingServer", "TrackingServerArn"): "arn:*:sagemaker:*:*:mlflow-tracking-server/*",
    ("AWS::SageMaker::MlflowApp", "Arn"): "arn:*:sagemaker:*:*:mlflow-app/*",
    ("AWS::ECS::Cluster", "Arn"): "arn:*:ecs:*:*:cluster/*",
    ("AWS::ECS::TaskDefinition", "Ref"): "arn:*:ecs:*:*:task-definition/*",
    ("AWS::SecretsManager::Secret", "Ref"): "arn:*:secretsmanager:*:*:secret:*",
    ("AWS::SQS::Queue", "Arn"): "arn:*:sqs:*:*:*",
    ("AWS::DynamoDB::Table", "Arn"): "arn:*:dynamodb:*:*:table/*",
}

# Pseudo parameters stand for any partition, region, account, domain suffix.
_PSEUDO = {"AWS::Partition", "AWS::Region", "AWS::AccountId", "AWS::URLSuffix", "AWS::StackName", "AWS::StackId"}


@dataclass(frozen=True)
class ResolvedReference:
    """What a `Ref`/`Fn::GetAtt` names: the resource type and attribute (`Ref` for a Ref)."""

    resource_type: str
    attribute: str


# A lookup the caller provides: `{"Ref": id}`, `{"Fn::GetAtt": ...}`, `{"Fn::GetStackOutput": ...}` or
# `{"Fn::ImportValue": ...}` -> the resource and attribute it ends at, or None where it cannot tell.
Resolver = Callable[[dict], ResolvedReference | None]


class Untyped(Exception):
    """A reference whose target the resolver cannot type (an imported value, a parameter)."""


def arn_pattern(value, resolve: Resolver) -> str:
    """`value` (a policy Resource entry) as an IAM wildcard pattern; raises Untyped where a whole
    reference cannot be typed, so the caller does not judge what it cannot see."""
    if isinstance(value, str):
        return re.sub(r"\$\{[^}]*\}", "*", value)  # policy variables (${aws:username}) match any text
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref" and argument in _PSEUDO:
            return "*"
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(_part_pattern(part, resolve) for part in parts)
        if function == "Fn::Sub":
            template, variables = (argument, {}) if isinstance(argument, str) else argument
            return re.sub(
                r"\$\{([^}!]*)\}",
                lambda m: _part_pattern(variables[m.group(1)], resolve) if m.group(1) in variables else "*",
                template,
            )
        if function in ("Ref", "Fn::GetAtt", "Fn::GetStackOutput", "Fn::ImportValue"):
            target = resolve(value)
            form = REFERENCE_ARNS.get((target.resource_type, target.attribute)) if target else None
            if form is None:
                raise Untyped(str(value))
            return form
    raise Untyped(str(value))


def _part_pattern(part, resolve: Resolver) -> str:
    """A piece of a joined ARN: a name-valued or untyped reference stands for any text."""
    try:
        pattern = arn_pattern(part, resolve)
    except Untyped:
        return "*"
    return "*" if pattern == NAME else pattern


def type_pattern(arn_format: str) -> str:
    """An ARN format from the Service Authorization Reference, its `${Variables}` as `*`."""
    return re.sub(r"\$\{[^}]*\}", "*", arn_format)


def arn_patterns_meet(resource: str, arn_type: str) -> bool:
    """Whether a policy resource pattern and a resource type's pattern have some ARN in common.

    An ARN is `arn:partition:service:region:account:resource`; the first five fields hold no `:`,
    so they are compared field by field (a `*` in the account cannot stand for
    `111122223333:mlflow-app/`), the resource part as a whole. In a pattern with fewer fields
    (`arn:aws:logs:*`, `*`) the last field stands for the rest of the ARN (IAM's `*` spans colons).
    """
    resource_fields, type_fields = resource.split(":", 5), arn_type.split(":", 5)
    if len(type_fields) < 6:
        return patterns_meet(resource, arn_type)
    # The resource pattern's last field stands for the rest of the ARN (all of it when it has < 6 fields).
    last = len(resource_fields) - 1
    return all(patterns_meet(a, b) for a, b in zip(resource_fields[:last], type_fields[:last], strict=True)) and (
        patterns_meet(resource_fields[last], ":".join(type_fields[last:]))
    )


def patterns_meet(first: str, second: str) -> bool:
    """Whether some string matches both wildcard patterns (`*` any run, `?` one character; case-sensitive,
    as IAM compares ARNs)."""
    return _meet(_squeeze(first), _squeeze(second))


def _squeeze(pattern: str) -> str:
    return re.sub(r"\*+", "*", pattern)


@functools.lru_cache(maxsize=4096)
def _meet(a: str, b: str) -> bool:
    # Dynamic programming over (i, j): can a[i:] and b[j:] match a common string?
    reachable, pending = set(), [(0, 0)]
    while pending:
        i, j = pending.pop()
        if (i, j) in reachable:
            continue
        reachable.add((i, j))
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] == "*":
            pending.append((i + 1, j))  # the star matches nothing more
            if j < len(b):
                pending.append((i, j + 1))  # the star absorbs b's next symbol (a character, ? or *)
        if j < len(b) and b[j] == "*":
            pending.append((i, j + 1))
            if i < len(a):
                pending.append((i + 1, j))
        if i < len(a) and j < len(b) and a[i] != "*" and b[j] != "*":
            if a[i] == b[j] or "?" in (a[i], b[j]):
                pending.append((i + 1, j + 1))
    return False
