"""Config validation: every kind of mistake names the file and the field, and nothing loads."""

from __future__ import annotations

import shutil

import pytest

from kit_config import ConfigError, available_environments, load_environment, load_environments
from tests.kit_config.conftest import assert_rejected, edit


def test_shipped_environments_load_in_promotion_order():
    configs = load_environments()
    assert [c.name for c in configs] == ["dev", "staging", "prod"]
    assert {c.network.mode for c in configs} == {"create", "existing"}  # both network paths ship


def test_default_zones_follow_the_region(config_dir):
    edit(config_dir, "dev", lambda d: d["network"].pop("availability_zones"))
    assert load_environment("dev", config_dir).availability_zones == ["us-east-1a", "us-east-1b"]


def test_unknown_environment_lists_known_ones(config_dir):
    with pytest.raises(ConfigError) as error:
        load_environment("qa", config_dir)
    assert "unknown environment 'qa'" in str(error.value)
    assert "dev, staging, prod" in str(error.value)


BAD_INPUTS = {
    # id: (change to dev.yaml, field path expected in the message, words expected)
    "unknown key": (lambda d: d.update(log_retention=30), "log_retention", "unknown key"),
    "unknown nested key": (
        lambda d: d["network"].update(cidr_block="10.0.0.0/16"),
        "network.cidr_block",
        "unknown key",
    ),
    "missing key": (lambda d: d.pop("region"), "region", "required key is missing"),
    "missing required tag": (lambda d: d["tags"].pop("CostCenter"), "tags.CostCenter", "required key is missing"),
    "wrong type": (lambda d: d.update(log_retention_days="30"), "log_retention_days", "valid integer"),
    "wrong type in list": (lambda d: d["network"].update(az_count=[2]), "network.az_count", "valid integer"),
    "invalid CIDR": (lambda d: d["network"].update(cidr="10.20.0.0/33"), "network.cidr", "not a valid IPv4 CIDR"),
    "CIDR with host bits": (lambda d: d["network"].update(cidr="10.20.1.0/16"), "network.cidr", "host bits set"),
    "CIDR too large for a VPC": (lambda d: d["network"].update(cidr="10.0.0.0/8"), "network.cidr", "/16 to /24"),
    "unquoted account id": (lambda d: d.update(account=111111111111), "account", "12-digit AWS account id in quotes"),
    "short account id": (lambda d: d.update(account="12345"), "account", "12-digit"),
    "malformed region": (lambda d: d.update(region="us-east"), "region", "not an AWS region"),
    "retention CloudWatch rejects": (
        lambda d: d.update(log_retention_days=45),
        "log_retention_days",
        "not a retention CloudWatch Logs accepts",
    ),
    "removal policy not offered": (
        lambda d: d.update(removal_policy="snapshot"),
        "removal_policy",
        "'retain' or 'destroy'",
    ),
    "zone outside region": (
        lambda d: d["network"].update(availability_zones=["us-west-2a", "us-west-2b"]),
        "network.availability_zones[0]",
        "not in region us-east-1",
    ),
    "zone count mismatch": (lambda d: d["network"].update(az_count=3), "network", "lists 2 zones; az_count is 3"),
    "unknown network mode": (lambda d: d["network"].update(mode="shared"), "network", "'create', 'existing'"),
    "Environment tag for another env": (
        lambda d: d["tags"].update(Environment="prod"),
        "tags",
        "this file configures 'dev'",
    ),
    "bad data classification": (
        lambda d: d["tags"].update(DataClassification="secret"),
        "tags.DataClassification",
        "'internal'",
    ),
    "bad tag value": (lambda d: d["tags"].update(Owner="team<ops>"), "tags", "not a valid AWS tag value"),
    "bad email": (
        lambda d: d["alarms"].update(email_subscriptions=["not-an-address"]),
        "alarms.email_subscriptions[0]",
        "pattern",
    ),
}


@pytest.mark.parametrize("change, field, words", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_names_file_and_field(config_dir, change, field, words):
    edit(config_dir, "dev", change)
    assert_rejected(config_dir, "dev", field, words)


def test_existing_vpc_needs_one_subnet_and_route_table_per_zone(config_dir):
    edit(config_dir, "prod", lambda d: d["network"]["subnet_ids"].pop())
    with pytest.raises(ConfigError, match=r"prod\.yaml: network: .*one entry per availability zone \(3\); got 2 and 3"):
        load_environment("prod", config_dir)


def test_existing_vpc_ids_are_checked(config_dir):
    edit(config_dir, "prod", lambda d: d["network"].update(vpc_id="vpc-XYZ"))
    with pytest.raises(ConfigError, match=r"prod\.yaml: network\.vpc_id: String should match pattern"):
        load_environment("prod", config_dir)


def test_every_mistake_in_a_file_is_reported_at_once(config_dir):
    edit(config_dir, "dev", lambda d: d.update(region="mars-1", log_retention_days=45))
    with pytest.raises(ConfigError) as error:
        load_environment("dev", config_dir)
    assert "2 invalid setting(s)" in str(error.value)


def test_yaml_syntax_error_names_the_file(config_dir):
    (config_dir / "dev.yaml").write_text("account: [unclosed\n")
    with pytest.raises(ConfigError, match=r"dev\.yaml: not valid YAML"):
        load_environment("dev", config_dir)


def test_name_key_must_match_the_file(config_dir):
    edit(config_dir, "dev", lambda d: d.update(name="prod"))
    with pytest.raises(ConfigError, match=r"dev\.yaml: name: 'prod' does not match the file name 'dev'"):
        load_environment("dev", config_dir)


def test_environments_are_discovered_from_files(config_dir):
    shutil.copy(config_dir / "dev.yaml", config_dir / "sandbox.yaml")
    assert available_environments(config_dir) == ["dev", "staging", "prod", "sandbox"]
