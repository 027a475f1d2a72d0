"""The kit's own cdk-nag pack ("Kit"): runs every rule in `governance.rules.ALL_RULES`.

A `NagPack` like cdk-nag's own: register it with `Validations.of(app).add_plugins(KitChecks(app,
policies=...))` on any app, or call `validate_scope(scope)`. cdk-nag walks the tree and calls
`_check_resource` per CloudFormation resource; the rules run here in Python, and only an outcome
that can be a finding (NON_COMPLIANT, finding ids, an exception) goes to cdk-nag's `applyRule`,
which builds the rule id, honours acknowledgments and records the violation exactly as for a rule
it calls itself. A compliant or not-applicable outcome produces nothing in `applyRule`, so skipping
it changes no result but saves the jsii round trips (about six per rule and resource).
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import CfnResource, PolicyValidationPluginReport, Stage
from cdk_nag import NagPack, NagRuleCompliance
from constructs import IConstruct

from governance.kit_rule import AppliedRule, KitRule, evaluation_cache
from governance.policy import GovernancePolicy
from governance.rules import ALL_RULES

PACK_NAME = "Kit"
_NO_FINDING = (NagRuleCompliance.COMPLIANT, NagRuleCompliance.NOT_APPLICABLE)


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

    def validate_scope(self, scope: IConstruct) -> PolicyValidationPluginReport:
        """cdk-nag's walk (also behind `validate`, the synth-time entry point), with construct-tree
        reads cached for its duration (`governance.kit_rule.evaluation_cache`)."""
        with evaluation_cache():
            return super().validate_scope(scope)

    def _check_resource(self, node: CfnResource) -> None:
        policy = self._policies.get(Stage.of(node).stage_name, self._default_policy)
        resource_type = node.cfn_resource_type
        for rule in self._rules:
            types = getattr(rule, "resource_types", None)
            if types is not None and resource_type not in types:
                continue
            try:
                outcome = rule.check(node, policy)
            except Exception as error:  # cdk-nag reports a rule that throws as a finding of that rule
                outcome = error
            if outcome is None or outcome in _NO_FINDING or (isinstance(outcome, list | tuple) and not outcome):
                continue  # cdk-nag's applyRule records nothing for these
            self._apply_rule(AppliedRule(rule, node, policy, outcome=outcome))
