"""The cost envelope's arithmetic, against figures worked out by hand from the shipped configs."""

from __future__ import annotations

import pytest

from costing import PriceNotListed, cost_envelope
from kit_config import load_environment
from tests.kit_config.conftest import config_dir, edit  # noqa: F401  (fixture)


def items(env_or_config) -> dict:
    config = load_environment(env_or_config) if isinstance(env_or_config, str) else env_or_config
    return {item.component: item for item in cost_envelope(config).items}


def test_dev_endpoint_lambda_and_network_by_hand():
    dev = items("dev")
    # ml.g6.xlarge $1.010/h x 730 h = $737.30 per instance; 0..2 (an inference component that scales to zero).
    assert (dev["Endpoint variant primary"].min_usd, dev["Endpoint variant primary"].max_usd) == (0.0, 1474.60)
    assert "scales to zero" in dev["Endpoint variant primary"].basis
    # Without scale to zero the floor would keep one instance.
    assert cost_envelope(load_environment("dev")).scale_to_zero_saving_usd == 737.30
    # Lambda idle costs nothing; dev reserves no concurrency, so nothing in config caps it.
    assert (dev["Agent on Lambda"].min_usd, dev["Agent on Lambda"].max_usd) == (0.0, None)
    assert "the account's unreserved pool applies" in dev["Agent on Lambda"].basis
    # 2 GB x 10 s x 1 M x $0.0000166667 + $0.20 = $333.534 per million requests.
    assert "$333.53 per million requests" in dev["Agent on Lambda"].basis
    # 9 interface endpoints x 2 zones x $0.01/h x 730 h.
    assert dev["VPC interface endpoints"].min_usd == 131.40
    # A Small tracking server (an App is refused in the kit's isolated network): $0.60/h x 730 h.
    assert (dev["MLflow tracking server (Small)"].min_usd, dev["MLflow tracking server (Small)"].max_usd) == (
        438.0,
        438.0,
    )
    assert dev["KMS keys"].min_usd == 6.0 and dev["NAT gateways"].max_usd == 0.0


def test_staging_sums_both_variants_and_the_fargate_service():
    staging = items("staging")
    # primary 1..3 and challenger 1..1 x ml.g5.2xlarge $1.515/h x 730 h = $1,105.95 each.
    assert (staging["Endpoint variant primary"].min_usd, staging["Endpoint variant primary"].max_usd) == (
        1105.95,
        3317.85,
    )
    assert (staging["Endpoint variant challenger"].min_usd, staging["Endpoint variant challenger"].max_usd) == (
        1105.95,
        1105.95,
    )
    # 1 vCPU x $0.04048 + 2 GB x $0.004445 = $0.04937/task-h x 730 = $36.0401; 1..3 tasks.
    assert (staging["Agent on Fargate"].min_usd, staging["Agent on Fargate"].max_usd) == (36.04, 108.12)
    # ALB $0.0225 x 730 = $16.425; max adds 1 LCU x $0.008 x 730 = $5.84.
    assert (staging["Internal load balancer"].min_usd, staging["Internal load balancer"].max_usd) == (16.43, 22.27)
    assert staging["MLflow tracking server (Small)"].min_usd == 438.00  # $0.60 x 730
    assert staging["VPC interface endpoints"].min_usd == 197.10  # 9 x 3 zones x $0.01 x 730
    # The private hosted zone the kit creates for the agent's name (agent.dns without hosted_zone_id).
    assert (staging["Private hosted zone"].min_usd, staging["Private hosted zone"].max_usd) == (0.50, 0.50)


def test_prod_totals_by_hand():
    envelope = cost_envelope(load_environment("prod"))
    # min: 2 x $2.820 x 730 = 4,117.20; MLflow Medium $1.20 x 730 = 876; Fargate 2 x (2 x 0.04048 + 4 x 0.004445)
    # x 730 = 144.16; ALB 16.43; endpoints 9 x 3 x 0.01 x 730 = 197.10; KMS 6; dashboard 3; no hosted zone
    # (the agent's record goes into the network team's zone).
    assert envelope.min_usd == round(4117.20 + 876 + 144.16 + 16.43 + 197.10 + 6 + 3, 2) == 5359.89
    # max: 6 instances 12,351.60; 8 tasks 576.64; ALB with 1 LCU 22.27.
    assert envelope.max_usd == round(12351.60 + 876 + 576.64 + 22.27 + 197.10 + 6 + 3, 2) == 14032.61


def test_existing_vpc_endpoints_follow_its_zone_count(config_dir):  # noqa: F811
    def two_zones(network):
        for key in ("availability_zones", "subnet_ids", "route_table_ids"):
            network[key] = network[key][:2]

    edit(config_dir, "prod", two_zones, section="network")
    prod = items(load_environment("prod", config_dir))
    assert prod["VPC interface endpoints"].min_usd == 131.40  # 9 x 2 x $0.01 x 730
    assert "added to the existing VPC" in prod["VPC interface endpoints"].basis


def test_ireland_uses_ireland_prices(config_dir):  # noqa: F811
    def to_ireland(data):
        data["region"] = "eu-west-1"
        data["network"]["availability_zones"] = ["eu-west-1a", "eu-west-1b"]

    edit(config_dir, "dev", to_ireland)
    dev = items(load_environment("dev", config_dir))
    assert dev["Endpoint variant primary"].max_usd == 1657.10  # 2 x ml.g6.xlarge $1.135 x 730
    assert cost_envelope(load_environment("dev", config_dir)).scale_to_zero_saving_usd == 828.55
    assert dev["VPC interface endpoints"].min_usd == 144.54  # 9 x 2 x $0.011 = $0.198/h x 730


def test_region_without_prices_is_named(config_dir):  # noqa: F811
    def to_sydney(data):
        data["region"] = "ap-southeast-2"
        data["network"]["availability_zones"] = ["ap-southeast-2a", "ap-southeast-2b"]

    edit(config_dir, "dev", to_sydney)
    with pytest.raises(PriceNotListed, match=r"ml\.g6\.xlarge has no ap-southeast-2 price"):
        cost_envelope(load_environment("dev", config_dir))


def test_reserved_concurrency_bounds_the_lambda_maximum(config_dir):  # noqa: F811
    edit(config_dir, "dev", lambda agent: agent.update(reserved_concurrency=20), section="agent")
    envelope = cost_envelope(load_environment("dev", config_dir))
    lambda_item = next(item for item in envelope.items if item.component == "Agent on Lambda")
    # Ceiling: 20 reserved x 2 GB x 2,628,000 s x $0.0000166667 = $1,752.0035
    # plus 20 / 10 s = 2 requests/s x 2,628,000 s = 5.256 M requests x $0.20/M = $1.0512.
    assert lambda_item.max_usd == 1753.05
    assert envelope.unbounded == [] and envelope.max_usd == round(1474.60 + 438 + 1753.05 + 131.40 + 6 + 3, 2)


def test_dev_total_leaves_the_unbounded_lambda_out():
    envelope = cost_envelope(load_environment("dev"))
    assert envelope.unbounded == ["Agent on Lambda"]
    assert envelope.max_usd == round(1474.60 + 438 + 131.40 + 6 + 3, 2) == 2053.00


def test_rollout_peak_is_both_fleets_fully_scaled_out():
    prod = cost_envelope(load_environment("prod")).rollout
    # prod: 2 x 6 ml.g6e.2xlarge x $2.820/h = $33.84/h; the extra fleet is half of it.
    assert prod.instances == {"ml.g6e.2xlarge": 12}
    assert (prod.hourly_usd, prod.extra_hourly_usd) == (33.84, 16.92)
    # For at most the rollout timeout: 900 + 1200 s timeouts + 2 canary steps x 15 min + 10 min + 30 min = 6,300 s.
    assert prod.max_hours == 1.75 and prod.extra_usd_per_update == 29.61
    staging = cost_envelope(load_environment("staging")).rollout
    # staging: primary 3 and challenger 1, both ml.g5.2xlarge ($1.515/h), doubled.
    assert staging.instances == {"ml.g5.2xlarge": 8} and staging.hourly_usd == 12.12
