"""Cost formula: instances × $/hour × wall time ÷ requests, by hand."""

from __future__ import annotations

import pytest

from loadtest.costs import costs, fleet_for
from loadtest.profiles import LoadtestError


def test_catalogue_price_times_instances_times_wall_time():
    fleet = fleet_for([("ml.g6.xlarge", 2)], "us-east-1")  # $1.010/h each in the catalogue
    assert fleet.hourly_usd == pytest.approx(2.02) and fleet.instance_count == 2
    # 2.02 $/h × 90 s = 2.02 × 0.025 h = $0.0505
    figures = costs(fleet, wall_s=90, succeeded=10, output_tokens=2500, turns_per_session=2.4)
    assert figures.total_usd == pytest.approx(0.0505)
    assert figures.per_request_usd == pytest.approx(0.00505)
    assert figures.per_1k_output_tokens_usd == pytest.approx(0.0505 / 2.5)
    assert figures.per_session_usd == pytest.approx(0.00505 * 2.4)


def test_variants_add_up_and_region_prices_differ():
    fleet = fleet_for([("ml.g5.xlarge", 1), ("ml.g6.xlarge", 1)], "eu-west-1")
    assert fleet.hourly_usd == pytest.approx(1.582 + 1.135)


def test_configured_price_replaces_the_catalogue():
    fleet = fleet_for([("ml.g6.xlarge", 3)], "us-east-1", price_per_hour=2.0)
    assert fleet.hourly_usd == 6.0 and fleet.source == "--price-per-hour"
    assert costs(
        fleet, wall_s=3600, succeeded=600, output_tokens=0, turns_per_session=1
    ).per_request_usd == pytest.approx(0.01)


def test_nothing_succeeded_leaves_per_unit_costs_undefined():
    figures = costs(
        fleet_for([("ml.g6.xlarge", 1)], "us-east-1"), wall_s=36, succeeded=0, output_tokens=0, turns_per_session=2
    )
    assert figures.total_usd == pytest.approx(0.0101)
    assert (
        figures.per_request_usd is None and figures.per_1k_output_tokens_usd is None and figures.per_session_usd is None
    )
    assert set(figures.metrics()) == {"cost_total_usd"}


def test_unpriced_region_or_absurd_price_is_refused_by_name():
    with pytest.raises(LoadtestError, match=r"ml\.g6\.xlarge in ap-south-1: give --price-per-hour"):
        fleet_for([("ml.g6.xlarge", 1)], "ap-south-1")
    with pytest.raises(LoadtestError, match="--price-per-hour"):
        fleet_for([("ml.g6.xlarge", 1)], "us-east-1", price_per_hour=0)
