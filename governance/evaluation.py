"""One evaluation per pack and synth, shared by the synth gate and the compliance reports.

The gate registers each pack behind `RecordedPack`: at synth, CDK calls its `validate` once for
the whole app; it runs the pack over each top-level construct of the app (each environment's
stage), keeps each result, and hands CDK their merge — the report `validate_scope(app)` would give,
violation for violation and in the same order. The reports then read the stage's result
(`recorded_violations`) instead of evaluating every pack a second time.
"""

from __future__ import annotations

import jsii
from aws_cdk import (
    CfnResource,
    IPolicyValidationContext,
    IPolicyValidationPlugin,
    PolicyValidationPluginReport,
    PolicyViolation,
)
from cdk_nag import NagPack
from constructs import IConstruct

# pack (jsii reference) -> {construct path of a top-level construct: its violations}, from the last synth
_RECORDED: dict[str, dict[str, list[PolicyViolation]]] = {}


@jsii.implements(IPolicyValidationPlugin)
class RecordedPack:
    """`pack` as a validation plugin that records what it found, per top-level construct of the app."""

    def __init__(self, pack: NagPack) -> None:
        self._pack = pack

    @property
    def pack(self) -> NagPack:
        return self._pack

    @property
    def name(self) -> str:
        return self._pack.name

    @property
    def version(self) -> str | None:
        return self._pack.version

    @property
    def rule_ids(self) -> list[str] | None:
        return self._pack.rule_ids

    def validate(self, context: IPolicyValidationContext) -> PolicyValidationPluginReport:
        root = context.app_construct
        if CfnResource.is_cfn_resource(root):  # not an app: nothing to split
            return self._pack.validate_scope(root)
        recorded = {}
        for child in root.node.children:
            recorded[child.node.path] = list(self._pack.validate_scope(child).violations)
        _RECORDED[self._pack.__jsii_ref__.ref] = recorded
        violations = _merged([v for part in recorded.values() for v in part])
        return PolicyValidationPluginReport(success=not violations, violations=violations)


def recorded_violations(pack: NagPack, scope: IConstruct) -> list[PolicyViolation] | None:
    """`pack`'s violations in `scope` (a top-level construct, e.g. a stage) from the last synth, or
    None if that synth did not evaluate it there."""
    return _RECORDED.get(pack.__jsii_ref__.ref, {}).get(scope.node.path)


def _merged(violations: list[PolicyViolation]) -> list[PolicyViolation]:
    """Group by rule as cdk-nag does over one walk: first occurrence's order, description and severity."""
    groups: dict[str, PolicyViolation] = {}
    resources: dict[str, list] = {}
    for violation in violations:
        if violation.rule_name not in groups:
            groups[violation.rule_name] = violation
            resources[violation.rule_name] = []
        resources[violation.rule_name] += list(violation.violating_resources)
    return [
        PolicyViolation(
            rule_name=name,
            description=first.description,
            violating_resources=resources[name],
            fix=first.fix,
            rule_metadata=first.rule_metadata,
            severity=first.severity,
        )
        for name, first in groups.items()
    ]
