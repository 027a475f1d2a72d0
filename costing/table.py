"""Plain-text rendering of cost envelopes (no dependency; the table reads the same in CI logs)."""

from __future__ import annotations

from costing.envelope import Envelope
from costing.prices import ALL_PRICES
from kit_config.instance_catalogue import PRICE_SOURCE as INSTANCE_PRICE_SOURCE


def render(envelope: Envelope) -> str:
    rows = [("Component", "Min $/month", "Max $/month", "Basis")]
    rows += [(item.component, _usd(item.min_usd), _usd(item.max_usd), item.basis) for item in envelope.items]
    unbounded = envelope.unbounded
    total_max = _usd(envelope.max_usd) + (" + usage" if unbounded else "")
    rows.append(
        ("Total", _usd(envelope.min_usd), total_max, f"maximum excludes {', '.join(unbounded)}" if unbounded else "")
    )
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{envelope.env} ({envelope.region}): monthly cost envelope"]
    for index, (component, low, high, basis) in enumerate(rows):
        if index in (1, len(rows) - 1):
            lines.append("-" * (sum(widths) + 6 + max(len(row[3]) for row in rows)))
        lines.append(f"{component:<{widths[0]}}  {low:>{widths[1]}}  {high:>{widths[2]}}  {basis}".rstrip())
    if envelope.scale_to_zero_saving_usd:
        lines.append(_idle_floor_line(envelope))
    if envelope.rollout:
        lines.append(_rollout_line(envelope.rollout))
    lines.append(_budget_line(envelope))
    lines += [f"  - {note}" for note in envelope.notes]
    return "\n".join(lines)


def render_sources() -> str:
    lines = ["Unit prices (costing/prices.py; 'unverified' = transcribed, not checked against a stored copy):"]
    for name, price in ALL_PRICES.items():
        by_region = ", ".join(f"{region} ${usd:.10f}".rstrip("0").rstrip(".") for region, usd in price.usd.items())
        lines.append(f"  - {name}: {by_region} {price.unit} [{price.source}, {price.as_of}, {price.checked}]")
    return "\n".join(lines)


def _budget_line(envelope: Envelope) -> str:
    budget = envelope.budget
    limit = budget.monthly_limit_usd
    alerts = ", ".join(f"{threshold:g}%" for threshold in budget.alert_thresholds_percent)
    forecast = "" if budget.forecast_alert_percent is None else f", forecast {budget.forecast_alert_percent:g}%"
    if limit < envelope.min_usd:
        verdict = "BELOW the minimum: actual-cost alerts will fire every month"
    elif limit < envelope.max_usd:
        verdict = f"{limit / envelope.min_usd:.0%} of the minimum; sustained scale-out alerts"
    elif envelope.unbounded:
        verdict = (
            f"{limit / envelope.min_usd:.0%} of the minimum, above the bounded maximum; "
            f"usage of {', '.join(envelope.unbounded)} can still trip it"
        )
    else:
        verdict = "at or above the maximum: only usage charges outside the envelope can trip it"
    return f"Budget: {_usd(limit)}/month (alerts at {alerts}{forecast}) - {verdict}"


def _idle_floor_line(envelope: Envelope) -> str:
    without = envelope.min_usd + envelope.scale_to_zero_saving_usd
    return (
        f"Idle floor: {_usd(envelope.min_usd)}/month with scale to zero; {_usd(without)}/month without it (one instance "
        f"kept per scaled-to-zero variant, {_usd(envelope.scale_to_zero_saving_usd)}; price: {INSTANCE_PRICE_SOURCE})"
    )


def _rollout_line(rollout) -> str:
    fleet = " + ".join(f"{count} x {instance_type}" for instance_type, count in rollout.instances.items())
    how = "rolling, one more batch of copies" if rollout.rolling else "blue/green, both fleets"
    return (
        f"During an endpoint update ({how}): up to {fleet} for the rollout (at most "
        f"{rollout.max_hours:.2f} h): {_usd(rollout.hourly_usd)}/h at the peak, +{_usd(rollout.extra_hourly_usd)}/h over "
        f"the fully scaled-out endpoint, at most +{_usd(rollout.extra_usd_per_update)} per update"
    )


def _usd(value: float | None) -> str:
    return "unbounded" if value is None else f"${value:,.2f}"
