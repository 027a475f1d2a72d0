"""The shape of a kit rule and the glue that hands it to cdk-nag's `NagPack.applyRule`."""

from __future__ import annotations

from typing import Any, Protocol

import jsii
from aws_cdk import CfnResource, Stack
from cdk_nag import IApplyRule, NagMessageLevel, NagRuleCompliance

from governance.policy import GovernancePolicy

# A rule returns COMPLIANT / NON_COMPLIANT / NOT_APPLICABLE, or a list of finding ids; each
# finding becomes `Kit-<Rule>[<finding>]` and is acknowledged on its own.
RuleResult = NagRuleCompliance | list[str]


class KitRule(Protocol):
    rule_id: str  # suffix after "Kit-"
    info: str  # why it was triggered
    explanation: str  # why the rule exists

    def check(self, node: CfnResource, policy: GovernancePolicy) -> RuleResult: ...


def cfn_properties(node: CfnResource) -> dict[str, Any]:
    """The resource's CloudFormation `Properties`, resolved (tokens become Ref/GetAtt dicts)."""
    stack = Stack.of(node)
    # Resolve first: rendering validates types, and lazy values (e.g. SNS's empty lists) only
    # have their final type once resolved.
    return stack.resolve(node._render_properties(stack.resolve(node._cfn_properties))) or {}


def findings_or_compliant(findings: list[str]) -> RuleResult:
    return findings or NagRuleCompliance.COMPLIANT


@jsii.implements(IApplyRule)
class AppliedRule:
    """`IApplyRule` for one kit rule on one resource (jsii reads these as properties)."""

    def __init__(self, rule: KitRule, node: CfnResource, policy: GovernancePolicy) -> None:
        self._rule, self._node, self._policy = rule, node, policy

    @property
    def node(self) -> CfnResource:
        return self._node

    @property
    def info(self) -> str:
        return self._rule.info

    @property
    def explanation(self) -> str:
        return self._rule.explanation

    @property
    def level(self) -> NagMessageLevel:
        return NagMessageLevel.ERROR

    @property
    def rule_suffix_override(self) -> str:
        return self._rule.rule_id

    def rule(self, node: CfnResource) -> RuleResult:
        return self._rule.check(node, self._policy)
