"""Checks of one IAM policy statement against the Service Authorization Reference (`governance.iam_reference`).

IAM accepts a policy whose action does not exist, whose resource is of a type the action never
applies to, or whose condition key the service never sets: the statement then grants (or denies)
nothing, silently ("Actions, resources, and condition keys for AWS services": each action's resource
types and condition keys; "IAM JSON policy elements: Resource": "If the action doesn't support
resource-level permissions ... you must use a wildcard (*)",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).

Each check is one object in `STATEMENT_CHECKS`; a finding is `<Kind>::<action or key>`, stable across
synths so it can be acknowledged on its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from governance.arn_forms import Resolver, Untyped, arn_pattern, arn_patterns_meet, type_pattern
from governance.iam_reference import ActionReference, actions_matching, condition_key_defined


class StatementCheck(Protocol):
    def findings(self, statement: dict, resolve: Resolver) -> Iterator[str]: ...


def as_list(value) -> list:
    return [] if value is None else value if isinstance(value, list) else [value]


def statement_actions(statement: dict) -> list[str]:
    """`Action` or `NotAction` entries (both must name real actions)."""
    return [a for a in as_list(statement.get("Action")) + as_list(statement.get("NotAction")) if isinstance(a, str)]


class KnownActions:
    """Every action entry names at least one action of a service the reference knows."""

    def findings(self, statement: dict, resolve: Resolver) -> Iterator[str]:
        for entry in statement_actions(statement):
            if entry != "*" and not actions_matching(entry):
                yield f"UnknownAction::{entry}"


class ResourcesOfTheActionsTypes:
    """Each `Action` entry applies to at least one of the statement's resources.

    An action with resource types applies to a resource whose ARN can be of one of those types; an
    action without (no resource-level permissions) applies to `*` only. A wildcard entry (`s3:Get*`)
    passes when any action it names applies, as CDK's grants combine bucket and object actions over
    bucket and object ARNs. Statements with `NotAction`/`NotResource`, without `Resource` (trust
    policies) or with a reference that cannot be typed are not judged.
    """

    def findings(self, statement: dict, resolve: Resolver) -> Iterator[str]:
        if "Resource" not in statement or "NotAction" in statement:
            return
        try:
            patterns = [arn_pattern(resource, resolve) for resource in as_list(statement["Resource"])]
        except Untyped:
            return
        for entry in as_list(statement.get("Action")):
            if entry == "*":
                continue
            actions = actions_matching(entry)
            if actions and not any(_applies(action, patterns) for action in actions):
                yield f"ResourceMatchesNoType::{entry}"


def _applies(action: ActionReference, patterns: list[str]) -> bool:
    if not action.resource_arns:
        return "*" in patterns
    return any(arn_patterns_meet(pattern, type_pattern(arn)) for pattern in patterns for arn in action.resource_arns)


class DefinedConditionKeys:
    """Every condition key is global (`aws:`) or defined by its service."""

    def findings(self, statement: dict, resolve: Resolver) -> Iterator[str]:
        for operator in (statement.get("Condition") or {}).values():
            for key in operator if isinstance(operator, dict) else ():
                if not condition_key_defined(key):
                    yield f"UnknownConditionKey::{key}"


STATEMENT_CHECKS: tuple[StatementCheck, ...] = (KnownActions(), ResourcesOfTheActionsTypes(), DefinedConditionKeys())


def document_findings(document: dict, resolve: Resolver) -> list[str]:
    """Sorted, distinct findings of every statement of a policy document."""
    return sorted(
        {
            finding
            for statement in as_list((document or {}).get("Statement"))
            if isinstance(statement, dict)
            for check in STATEMENT_CHECKS
            for finding in check.findings(statement, resolve)
        }
    )


def untyped_resources(document: dict, resolve: Resolver) -> list[str]:
    """The Resource entries of `document` that cannot be typed (not judged by ResourcesOfTheActionsTypes)."""
    untyped = []
    for statement in as_list((document or {}).get("Statement")):
        for resource in as_list(statement.get("Resource")) if isinstance(statement, dict) else ():
            try:
                arn_pattern(resource, resolve)
            except Untyped as error:
                untyped.append(str(error))
    return untyped
