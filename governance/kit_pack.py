"""The kit's own cdk-nag pack ("Kit"): runs every rule in `governance.rules.ALL_RULES`."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import CfnResource, Stage
from cdk_nag import NagPack
from constructs import IConstruct

from governance.kit_rule import AppliedRule, KitRule
from governance.policy import GovernancePolicy
from governance.rules import ALL_RULES

PACK_NAME = "Kit"


class KitChecks(NagPack):
    """Packs registered anywhere walk the whole app, so the policy is looked up per stage."""

    def __init__(
        self,
        scope: IConstruct,
        *,
        policies: Mapping[str, GovernancePolicy],
        default_policy: GovernancePolicy = GovernancePolicy(),
        rules: tuple[KitRule, ...] = ALL_RULES,
        verbose: bool = True,
    ) -> None:
        super().__init__(scope, verbose=verbose)
        self._pack_name = PACK_NAME
        self._policies = dict(policies)
        self._default_policy = default_policy
        self._rules = rules

    @property
    def name(self) -> str:
        return PACK_NAME

    @property
    def rules(self) -> tuple[KitRule, ...]:
        return self._rules

    def _check_resource(self, node: CfnResource) -> None:
        policy = self._policies.get(Stage.of(node).stage_name, self._default_policy)
        for rule in self._rules:
            self._apply_rule(AppliedRule(rule, node, policy))
