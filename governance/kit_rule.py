"""The shape of a kit rule and the glue that hands it to cdk-nag's `NagPack.applyRule`."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar

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
    # Optional: `resource_types = ("AWS::S3::Bucket", ...)` when check() is NOT_APPLICABLE to every
    # other type; the pack then skips the call for other resources. Absent or None: every resource.

    def check(self, node: CfnResource, policy: GovernancePolicy) -> RuleResult: ...


T = TypeVar("T")

# Values read from the construct tree during one pack evaluation (one `validate_scope`), keyed by
# (kind, jsii object reference). Every read is a round trip to the jsii kernel, and rules read the
# same resources again and again (every rule the resource's properties, cross-resource rules a
# stack's index); the tree does not change while a pack walks it. Outside an evaluation nothing is
# cached, so rules called directly (tests) always see the current tree.
_EVALUATION_CACHE: ContextVar[dict | None] = ContextVar("kit_evaluation_cache", default=None)


@contextlib.contextmanager
def evaluation_cache() -> Iterator[None]:
    """Cache construct-tree reads for the duration of one evaluation (nested uses share the outer one)."""
    if _EVALUATION_CACHE.get() is not None:
        yield
        return
    token = _EVALUATION_CACHE.set({})
    try:
        yield
    finally:
        _EVALUATION_CACHE.reset(token)


def memoized(kind: str, obj: Any, compute: Callable[[], T]) -> T:
    """`compute()`, once per evaluation for this (kind, jsii object); uncached outside an evaluation."""
    cache = _EVALUATION_CACHE.get()
    if cache is None:
        return compute()
    key = (kind, obj.__jsii_ref__.ref)
    try:
        return cache[key]
    except KeyError:
        value = cache[key] = compute()
        return value


def cfn_properties(node: CfnResource) -> dict[str, Any]:
    """The resource's CloudFormation `Properties`, resolved (tokens become Ref/GetAtt dicts).

    Within an evaluation the same dict is returned for the same resource: rules must not mutate it.
    """
    return memoized("cfn_properties", node, lambda: _render_cfn_properties(node))


def _render_cfn_properties(node: CfnResource) -> dict[str, Any]:
    stack = Stack.of(node)
    # Resolve first: rendering validates types, and lazy values (e.g. SNS's empty lists) only
    # have their final type once resolved.
    return stack.resolve(node._render_properties(stack.resolve(node._cfn_properties))) or {}


def findings_or_compliant(findings: list[str]) -> RuleResult:
    return findings or NagRuleCompliance.COMPLIANT


@jsii.implements(IApplyRule)
class AppliedRule:
    """`IApplyRule` for one kit rule on one resource (jsii reads these as properties)."""

    def __init__(
        self,
        rule: KitRule,
        node: CfnResource,
        policy: GovernancePolicy,
        *,
        outcome: RuleResult | BaseException | None = None,
    ) -> None:
        """`outcome`: the result (or the exception) of `rule.check(node, policy)` if already evaluated;
        cdk-nag then receives exactly that (an exception is re-raised, as if the check raised it)."""
        self._rule, self._node, self._policy, self._outcome = rule, node, policy, outcome

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
        if self._outcome is None:
            return self._rule.check(node, self._policy)
        if isinstance(self._outcome, BaseException):
            raise self._outcome
        return self._outcome
