"""The metrics and expressions of one alarm or one dashboard widget, as the checks see them.

An alarm's `Metrics` are MetricDataQuery structures (PutMetricAlarm); a widget's `metrics` rows are the
dashboard body's "metrics array" (a metric row, or `[{"expression": ..., "id": ...}]`). Expressions
refer to the other entries of the same alarm or widget by Id, never across them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class Query:
    position: int  # index in the alarm's Metrics or the widget's metrics rows
    id: str | None  # a widget row may have none (CloudWatch names it; nothing can refer to it)
    expression: str | None  # None: a metric (MetricStat, or a widget's metric row)
    period: Any = None  # as written (an int, or an unresolved token)
    returned: bool = True  # alarm: ReturnData (absent means true); widget: "visible"

    @property
    def is_metric(self) -> bool:
        return self.expression is None

    @property
    def label(self) -> str:
        """How findings name the entry: its Id, else its row."""
        return self.id or f"row{self.position}"


@dataclass(frozen=True)
class QueryGroup:
    kind: Literal["alarm", "widget"]
    name: str  # "" for an alarm (the finding is on the alarm); the widget's title or "widget<N>"
    queries: tuple[Query, ...]
    period: Any = None  # the alarm's own Period (an alarm on one metric), or the widget's default period
    evaluation_periods: Any = None  # alarms only

    def prefixed(self, *parts: str) -> tuple[str, ...]:
        """Finding parts, with the widget's name in front where the resource holds several groups."""
        return parts if not self.name else (parts[0], self.name, *parts[1:])
