"""An alarm's Metrics (MetricDataQuery) as the checks see them."""

from __future__ import annotations

from governance.metric_math.alarm_queries import alarm_group
from governance.metric_math.queries import Query


def test_metric_stats_and_expressions_with_their_periods_and_return_data():
    group = alarm_group(
        {
            "EvaluationPeriods": 3,
            "Metrics": [
                {"Id": "rate", "Expression": "100 * errors / invocations", "ReturnData": True},
                {
                    "Id": "errors",
                    "MetricStat": {"Metric": {"MetricName": "E"}, "Period": 60, "Stat": "Sum"},
                    "ReturnData": False,
                },
                {"Id": "invocations", "MetricStat": {"Metric": {"MetricName": "I"}, "Period": 30, "Stat": "Sum"}},
            ],
        }
    )
    assert (group.kind, group.name, group.period, group.evaluation_periods) == ("alarm", "", None, 3)
    assert group.queries == (
        Query(0, "rate", "100 * errors / invocations", None, True),
        Query(1, "errors", None, 60, False),
        Query(2, "invocations", None, 30, True),  # ReturnData left out: true
    )


def test_an_alarm_on_one_metric_has_its_own_period_and_no_entries():
    group = alarm_group({"MetricName": "Errors", "Period": 300, "EvaluationPeriods": 1})
    assert (group.queries, group.period) == ((), 300)
