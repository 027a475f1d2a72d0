"""An `AWS::CloudWatch::Alarm`'s metrics and expressions as a QueryGroup."""

from __future__ import annotations

from typing import Any

from governance.metric_math.queries import Query, QueryGroup


def alarm_group(properties: dict[str, Any]) -> QueryGroup:
    """The alarm's `Metrics` (MetricDataQuery) entries; none for an alarm on one metric (`MetricName`)."""
    queries = tuple(
        Query(
            position=position,
            id=entry.get("Id"),
            expression=entry.get("Expression") if "MetricStat" not in entry else None,
            period=(entry.get("MetricStat") or {}).get("Period", entry.get("Period")),
            # MetricDataQuery.ReturnData: "If you omit this, the default of true is used."
            returned=entry.get("ReturnData", True) is not False,
        )
        for position, entry in enumerate(properties.get("Metrics") or [])
        if isinstance(entry, dict)
    )
    return QueryGroup(
        kind="alarm",
        name="",
        queries=queries,
        period=properties.get("Period"),
        evaluation_periods=properties.get("EvaluationPeriods"),
    )
