"""What CloudWatch requires of an alarm's or a widget's metrics and expressions: one small object per rule.

Each constraint says which groups it applies to (`kinds`) and returns its findings as parts
(`("UnknownId", "expr_1", "nope")`); the kit rule joins them into `Kit-CloudWatchMetricMath[...]`.
Sources, quoted where the number comes from:
- PutMetricAlarm and MetricDataQuery, CloudWatch API reference (the same text ships in botocore's
  service model, `botocore/data/cloudwatch/2010-08-01/service-2.json`, shapes PutMetricAlarmInput and
  MetricDataQuery): https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html,
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDataQuery.html
- "Using metric math", CloudWatch user guide:
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Protocol

from governance.metric_math.checker import FINAL_TYPES, QueryResult
from governance.metric_math.queries import QueryGroup
from governance.metric_math.value_types import CLOUDWATCH_NAMES, TS

Finding = tuple[str, ...]

# MetricDataQuery.Id: "The valid characters are letters, numbers, and underscore. The first character
# must be a lowercase letter."
ID_PATTERN = re.compile(r"[a-z][A-Za-z0-9_]*")


class GroupConstraint(Protocol):
    kinds: frozenset[str]  # "alarm", "widget"

    def findings(self, group: QueryGroup, results: list[QueryResult]) -> list[Finding]: ...


ALARM = frozenset({"alarm"})
WIDGET = frozenset({"widget"})
BOTH = ALARM | WIDGET


class ExpressionsTypeCheck:
    """Every expression parses, calls documented functions with documented argument types, and names
    only Ids of its own alarm or widget."""

    kinds = BOTH

    def findings(self, group: QueryGroup, results: list[QueryResult]) -> list[Finding]:
        return [(r.error.kind, r.query.label, r.error.detail) for r in results if r.error is not None]


class ExpressionResultTypes:
    """Widget: "The final result of any math expression must be a single time series or an array of
    time series" (a scalar is not). Alarm: "Any expression used in a PutMetricAlarm operation must
    return a single time series" (MetricDataQuery), so neither a scalar nor an array (SEARCH, METRICS())."""

    kinds = BOTH

    def findings(self, group: QueryGroup, results: list[QueryResult]) -> list[Finding]:
        allowed = frozenset({TS}) if group.kind == "alarm" else FINAL_TYPES
        return [
            ("ResultType", r.query.label, CLOUDWATCH_NAMES.get(r.type, r.type.value))
            for r in results
            if not r.query.is_metric and r.type is not None and r.type not in allowed
        ]


class IdsWellFormed:
    kinds = BOTH

    def findings(self, group: QueryGroup, results: list[QueryResult]) -> list[Finding]:
        return [
            ("InvalidId", str(q.id))
            for q in group.queries
            if q.id is not None and not (isinstance(q.id, str) and ID_PATTERN.fullmatch(q.id))
        ]


class IdsUnique:
    """MetricDataQuery.Id: "This name must be unique within a single call"."""

    kinds = BOTH

    def findings(self, group: QueryGroup, results: list[QueryResult]) -> list[Finding]:
        counts = Counter(q.id for q in group.queries if isinstance(q.id, str))
        return [("DuplicateId", name) for name, count in sorted(counts.items()) if count > 1]


class OneReturnedSeries:
    """PutMetricAlarm: "One item in the Metrics array is the expression that the alarm watches. You
    designate this expression by setting ReturnData to true"; MetricDataQuery: "specify true for the one
    expression result to use as the alarm. For all other metrics and expressions ... specify ReturnData as
    False" (absent means true)."""

    kinds = ALARM

    def findings(self, group: QueryGroup, results: list[QueryResult]) -> list[Finding]:
        if not group.queries:
            return []  # an alarm on one metric (MetricName, Period, Statistic)
        returned = sum(q.returned for q in group.queries)
        return [] if returned == 1 else [("ReturnData", f"{returned}Returned")]


class AlarmQueryCounts:
    """MetricDataQuery: "A single PutMetricAlarm call can include up to 20 MetricDataQuery structures in
    the array. The 20 structures can include as many as 10 structures that contain a MetricStat parameter
    to retrieve a metric, and as many as 10 structures that contain the Expression parameter"."""

    kinds = ALARM
    MAX_METRICS = 10
    MAX_EXPRESSIONS = 10

    def findings(self, group: QueryGroup, results: list[QueryResult]) -> list[Finding]:
        metrics = sum(q.is_metric for q in group.queries)
        expressions = len(group.queries) - metrics
        findings = []
        if metrics > self.MAX_METRICS:
            findings.append(("TooManyMetrics", f"{metrics}Metrics"))
        if expressions > self.MAX_EXPRESSIONS:
            findings.append(("TooManyExpressions", f"{expressions}Expressions"))
        return findings


def _seconds(value: Any) -> int | None:
    """A literal period in seconds; None for a deploy-time value (not checkable here)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and value == int(value):
        return int(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _period_findings(group: QueryGroup, valid) -> list[Finding]:
    findings = []
    if (seconds := _seconds(group.period)) is not None and not valid(seconds):
        findings.append(("Period", "default" if group.kind == "widget" else "alarm", str(seconds)))
    for query in group.queries:
        if (seconds := _seconds(query.period)) is not None and not valid(seconds):
            findings.append(("Period", query.label, str(seconds)))
    return findings


class AlarmPeriods:
    """PutMetricAlarm `Period`: "Valid values are 10, 20, 30, and any multiple of 60"; "If you are
    creating an alarm based on a metric math expression, you specify the period for each metric within
    the objects in the Metrics array"."""

    kinds = ALARM
    SUB_MINUTE = frozenset({10, 20, 30})

    def findings(self, group: QueryGroup, results: list[QueryResult]) -> list[Finding]:
        return _period_findings(group, lambda s: s in self.SUB_MINUTE or (s > 0 and s % 60 == 0))


class AlarmEvaluationWindow:
    """PutMetricAlarm `Period`: "Period multiplied by EvaluationPeriods can't be more than 604,800 seconds.
    For alarms with a period of less than one hour (3,600 seconds), the total evaluation period can't be
    longer than one day (86,400 seconds)"."""

    kinds = ALARM
    MAX_WINDOW = 604_800
    MAX_WINDOW_UNDER_AN_HOUR = 86_400

    def findings(self, group: QueryGroup, results: list[QueryResult]) -> list[Finding]:
        evaluation_periods = _seconds(group.evaluation_periods)
        if evaluation_periods is None:
            return []
        periods = {_seconds(group.period), *(_seconds(q.period) for q in group.queries if q.is_metric)} - {None}
        return [
            ("EvaluationWindow", f"{period}sx{evaluation_periods}")
            for period in sorted(periods)
            if period * evaluation_periods > (self.MAX_WINDOW_UNDER_AN_HOUR if period < 3600 else self.MAX_WINDOW)
        ]


class WidgetPeriods:
    """A widget's data comes from GetMetricData; MetricDataQuery `Period`: "a period can be as short as one
    minute (60 seconds) and must be a multiple of 60. For high-resolution metrics ... the period can be 1,
    5, 10, 20, 30, 60, or any multiple of 60"."""

    kinds = WIDGET
    SUB_MINUTE = frozenset({1, 5, 10, 20, 30})

    def findings(self, group: QueryGroup, results: list[QueryResult]) -> list[Finding]:
        return _period_findings(group, lambda s: s in self.SUB_MINUTE or (s > 0 and s % 60 == 0))


class WidgetSize:
    """A graph: "Each graph is limited to using a maximum of 500 metrics and expressions" ("Using metric math")."""

    kinds = WIDGET
    MAX_ROWS = 500

    def findings(self, group: QueryGroup, results: list[QueryResult]) -> list[Finding]:
        rows = len(group.queries)
        return [("TooManyMetrics", f"{rows}Rows")] if rows > self.MAX_ROWS else []


CONSTRAINTS: tuple[GroupConstraint, ...] = (
    ExpressionsTypeCheck(),
    ExpressionResultTypes(),
    IdsWellFormed(),
    IdsUnique(),
    OneReturnedSeries(),
    AlarmQueryCounts(),
    AlarmPeriods(),
    AlarmEvaluationWindow(),
    WidgetPeriods(),
    WidgetSize(),
)


def group_findings(group: QueryGroup, results: list[QueryResult]) -> list[Finding]:
    """Every constraint's findings for one alarm or widget, the widget's name in each."""
    return [
        group.prefixed(*finding)
        for constraint in CONSTRAINTS
        if group.kind in constraint.kinds
        for finding in constraint.findings(group, results)
    ]
