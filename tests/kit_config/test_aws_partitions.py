"""Regions and Availability Zones are checked against botocore's partition data at config load."""

from __future__ import annotations

import botocore.loaders
import botocore.session
import pytest

from kit_config import load_environment
from kit_config.aws_partitions import botocore_partitions, partition_of, region_problem, zone_problems
from tests.kit_config.conftest import assert_rejected, edit


def test_the_table_is_botocores_own_partition_data():
    """Read without importing botocore, it is what botocore's loader returns (global pseudo-regions aside)."""
    data = botocore.loaders.Loader().load_data("partitions")
    expected = {
        entry["outputs"]["name"]: sorted(r for r in entry["regions"] if not r.endswith("-global"))
        for entry in data["partitions"]
    }
    version, partitions = botocore_partitions()
    assert version == botocore.__version__
    assert {p.name: list(p.regions) for p in partitions} == expected
    assert {p.name: p.dns_suffix for p in partitions}["aws-cn"] == "amazonaws.com.cn"


def test_each_region_is_in_the_partition_botocore_resolves_it_to():
    session = botocore.session.get_session()
    for partition in botocore_partitions()[1]:
        for region in partition.regions:
            assert partition_of(region) == partition
            assert session.get_partition_for_region(region) == partition.name, region


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-2", "cn-northwest-1", "us-gov-west-1"])
def test_regions_botocore_lists_are_accepted(region):
    assert region_problem(region) is None


@pytest.mark.parametrize(
    "region",
    [
        "us-east-7",  # a typo of a region name: the old name-shaped regex accepted it
        "us-north-1",  # the shape of a region, no such region
        "eu-west-1a",  # an AZ where a region belongs
        "aws-global",  # botocore's pseudo-region for global endpoints
        "us-gov-central-1",
    ],
)
def test_region_botocore_does_not_know_is_refused_at_load(config_dir, region):
    edit(config_dir, "dev", lambda d: d.update(region=region))
    assert_rejected(config_dir, "dev", "region", f"{region!r} is not an AWS region botocore")


def test_the_refusal_lists_the_regions_a_typo_meant():
    assert "us-east-1, us-east-2" in region_problem("us-east-7")


def test_zones_of_the_region_are_accepted():
    assert zone_problems("us-west-2", ["us-west-2a", "us-west-2b", "us-west-2d"]) == []


@pytest.mark.parametrize(
    "zones, index, words",
    [
        (["us-east-1a", "us-west-2b"], 1, "availability zone 'us-west-2b' is not in region us-east-1"),
        (["us-east-1a", "us-east-1"], 1, "is not in region us-east-1 (expected us-east-1<letter>)"),
        (["us-east-1a", "us-east-1ab"], 1, "is not in region us-east-1"),
        (["use1-az1", "us-east-1b"], 0, "'use1-az1' is an Availability Zone ID; give the zone's name"),
        (["us-east-1a", "us-east-1a"], 1, "us-east-1a is listed twice (also at [0])"),
    ],
)
def test_zone_mistakes_name_the_zone_field(config_dir, zones, index, words):
    edit(config_dir, "dev", lambda d: d["network"].update(availability_zones=zones))
    assert_rejected(config_dir, "dev", f"network.availability_zones[{index}]", words)


def test_an_existing_vpc_with_one_zone_twice_is_refused(config_dir):
    """Two subnets in one zone: no redundancy, and the load balancer refuses them."""
    edit(
        config_dir, "prod", lambda d: d["network"].update(availability_zones=["us-west-2a", "us-west-2b", "us-west-2a"])
    )
    assert_rejected(config_dir, "prod", "network.availability_zones[2]", "listed twice")


def test_default_zones_are_the_regions(config_dir):
    edit(config_dir, "staging", lambda d: d["network"].pop("availability_zones"))
    assert load_environment("staging", config_dir).availability_zones == ["us-east-1a", "us-east-1b", "us-east-1c"]


def test_without_botocore_the_region_field_says_so(config_dir, monkeypatch):
    """A missing synth dependency is a config message on `region`, not a traceback."""
    from importlib import metadata

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", missing)
    botocore_partitions.cache_clear()
    try:
        assert_rejected(config_dir, "dev", "region", "botocore is not installed (pip install -r requirements.txt)")
    finally:
        monkeypatch.undo()
        botocore_partitions.cache_clear()
