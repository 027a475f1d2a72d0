"""What the load cost, from the endpoint's instance-hours.

    total     = Σ over variants (instances × $/hour) × wall time (hours)
    /request  = total ÷ successful requests
    /1k out   = total ÷ (output tokens of successful requests ÷ 1000)
    /session  = /request × mean turns per conversation of the prompt set

Assumption: the endpoint is dedicated to this test for its wall time (nothing else shares the
instances, and idle capacity is charged to the test). $/hour comes from
kit_config.instance_catalogue (on-demand, by instance type and region) or --price-per-hour.
"""

from __future__ import annotations

from dataclasses import dataclass

from kit_config.instance_catalogue import INSTANCE_CATALOGUE, PRICE_SOURCE
from loadtest.profiles import LoadtestError


@dataclass(frozen=True)
class Fleet:
    """The instances billed while the test runs: (instance type, count, $/hour each) per variant."""

    variants: tuple[tuple[str, int, float], ...]
    source: str

    @property
    def hourly_usd(self) -> float:
        return sum(count * price for _, count, price in self.variants)

    @property
    def instance_count(self) -> int:
        return sum(count for _, count, _ in self.variants)


def fleet_for(variants: list[tuple[str, int]], region: str, price_per_hour: float | None = None) -> Fleet:
    """Price each (instance type, count); `price_per_hour` (per instance) overrides the catalogue."""
    if price_per_hour is not None:
        if not 0 < price_per_hour <= 1000:
            raise LoadtestError(
                f"--price-per-hour {price_per_hour}: give the $/hour of one instance (0 < price ≤ 1000)"
            )
        return Fleet(tuple((kind, count, price_per_hour) for kind, count in variants), "--price-per-hour")
    priced = []
    for kind, count in variants:
        spec = INSTANCE_CATALOGUE.get(kind)
        hourly = spec.hourly_usd.get(region) if spec else None
        if hourly is None:
            raise LoadtestError(f"no catalogue price for {kind} in {region}: give --price-per-hour")
        priced.append((kind, count, hourly))
    return Fleet(tuple(priced), PRICE_SOURCE)


@dataclass(frozen=True)
class Costs:
    total_usd: float
    per_request_usd: float | None
    per_1k_output_tokens_usd: float | None
    per_session_usd: float | None

    def metrics(self) -> dict[str, float]:
        figures = {
            "cost_total_usd": self.total_usd,
            "cost_per_request_usd": self.per_request_usd,
            "cost_per_1k_output_tokens_usd": self.per_1k_output_tokens_usd,
            "cost_per_session_usd": self.per_session_usd,
        }
        return {name: value for name, value in figures.items() if value is not None}


def costs(fleet: Fleet, wall_s: float, succeeded: int, output_tokens: int, turns_per_session: float) -> Costs:
    total = fleet.hourly_usd * wall_s / 3600
    per_request = total / succeeded if succeeded else None
    return Costs(
        total_usd=total,
        per_request_usd=per_request,
        per_1k_output_tokens_usd=total / (output_tokens / 1000) if output_tokens else None,
        per_session_usd=per_request * turns_per_session if per_request is not None else None,
    )
