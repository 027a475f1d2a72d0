"""What `make cost` counts from config is what synthesis creates: interface endpoints x zones, KMS keys."""

from __future__ import annotations

import pytest

from costing import cost_envelope
from tests.helpers import ENVIRONMENTS, STACKS, resources


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_interface_endpoint_zones_match_the_network_template(synthesized, env):
    template = synthesized.templates[(env, "Network")]
    interface = [
        r
        for r in resources(template, "AWS::EC2::VPCEndpoint").values()
        if r["Properties"].get("VpcEndpointType") == "Interface"
    ]
    endpoint_zones = sum(len(r["Properties"]["SubnetIds"]) for r in interface)
    item = next(i for i in cost_envelope(synthesized.configs[env]).items if i.component == "VPC interface endpoints")
    assert item.basis.startswith(f"{len(interface)} endpoints x {endpoint_zones // len(interface)} AZs")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_kms_keys_match_the_templates(synthesized, env):
    keys = sum(len(resources(synthesized.templates[(env, stack)], "AWS::KMS::Key")) for stack in STACKS)
    item = next(i for i in cost_envelope(synthesized.configs[env]).items if i.component == "KMS keys")
    assert item.min_usd == keys * 1.00


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_nat_gateway_or_extra_load_balancer(synthesized, env):
    nat = sum(len(resources(synthesized.templates[(env, stack)], "AWS::EC2::NatGateway")) for stack in STACKS)
    albs = sum(
        len(resources(synthesized.templates[(env, stack)], "AWS::ElasticLoadBalancingV2::LoadBalancer"))
        for stack in STACKS
    )
    components = {i.component for i in cost_envelope(synthesized.configs[env]).items}
    assert nat == 0
    assert albs == int("Internal load balancer" in components)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_hosted_zones_match_the_templates(synthesized, env):
    """The agent's private hosted zone is billed when the kit creates it (agent.dns without hosted_zone_id)."""
    zones = sum(len(resources(synthesized.templates[(env, stack)], "AWS::Route53::HostedZone")) for stack in STACKS)
    items = {i.component: i for i in cost_envelope(synthesized.configs[env]).items}
    billed = items["Private hosted zone"].min_usd if "Private hosted zone" in items else 0.0
    assert billed == zones * 0.50
