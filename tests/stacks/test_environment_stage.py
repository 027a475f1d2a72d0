"""One stage per environment: account/region, tags on everything, termination protection."""

from __future__ import annotations

import pytest

from tests.helpers import ENVIRONMENTS, STACKS


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_environment_is_a_stage_with_its_own_account_and_region(synthesized, env):
    [stage] = [s for s in synthesized.kit.stages if s.stage_name == env]
    config = synthesized.configs[env]
    assert (stage.account, stage.region) == (config.account, config.region)
    assert {
        stack.node.id
        for stack in (stage.foundation, stage.network, stage.mlflow, stage.inference, stage.agent, stage.observability)
    } == set(STACKS)
    assert stage.network.stack_name == f"{env}-Network"  # `cdk deploy 'dev/*'` addresses these


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_tagged_resource_and_the_stack_carry_the_required_tags(synthesized, env, stack):
    expected = synthesized.configs[env].tags.as_dict()
    properties = synthesized.stack_properties[(env, stack)]
    assert properties["tags"] == expected
    tagged = 0
    for logical_id, resource in synthesized.templates[(env, stack)]["Resources"].items():
        properties_ = resource.get("Properties", {})
        tags = properties_.get("Tags", properties_.get("ResourceTags"))  # AWS::Budgets::Budget: ResourceTags
        if isinstance(tags, list):
            tagged += 1
            assert {t["Key"]: t["Value"] for t in tags if t["Key"] in expected} == expected, logical_id
    # Observability holds one taggable resource (the budget; dashboards take no tags).
    assert tagged >= (1 if stack == "Observability" else 3)


@pytest.mark.parametrize("env, protected", [("dev", False), ("staging", True), ("prod", True)])
def test_retained_environments_have_termination_protection(synthesized, env, protected):
    for stack in STACKS:
        assert synthesized.stack_properties[(env, stack)]["termination_protection"] is protected
