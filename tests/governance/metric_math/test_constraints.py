"""An alarm's and a widget's limits (PutMetricAlarm, MetricDataQuery, "Using metric math")."""

from __future__ import annotations

import pytest

from governance.metric_math.checker import type_queries
from governance.metric_math.constraints import group_findings
from governance.metric_math.queries import Query, QueryGroup


def metric(position: int, id_: str | None, period=60, returned: bool = False) -> Query:
    return Query(position, id_, None, period, returned)


def expression(position: int, id_: str | None, text: str, returned: bool = True) -> Query:
    return Query(position, id_, text, None, returned)


def alarm(*queries: Query, period=None, evaluation_periods=3) -> list[tuple[str, ...]]:
    group = QueryGroup("alarm", "", queries, period, evaluation_periods)
    return group_findings(group, type_queries(group.queries))


def widget(*queries: Query, period=None, name: str = "Latency") -> list[tuple[str, ...]]:
    group = QueryGroup("widget", name, queries, period)
    return group_findings(group, type_queries(group.queries))


RATE = (
    expression(0, "rate", "IF(invocations > 0, 100 * errors / invocations, 0)"),
    metric(1, "errors"),
    metric(2, "invocations"),
)


def test_the_kits_rate_alarm_meets_every_limit():
    assert alarm(*RATE) == []


def test_an_alarm_on_one_metric_with_a_valid_period_passes():
    assert alarm(period=300, evaluation_periods=1) == []


def test_the_broken_4xx_expression_is_a_finding_naming_the_call():
    assert alarm(expression(0, "rate", "100 * errors / MAX([invocations, 1])"), *RATE[1:]) == [
        ("ArgumentTypes", "rate", "MAX(Array[TimeSeries, Scalar])")
    ]


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("MAX(errors)", "Scalar"),
        ("METRICS()", "Array[TimeSeries]"),
        ("ANOMALY_DETECTION_BAND(errors)", "Array[TimeSeries]"),
    ],
)
def test_an_alarm_watches_one_time_series_not_a_scalar_or_an_array(text, result):
    assert alarm(expression(0, "e1", text), metric(1, "errors")) == [("ResultType", "e1", result)]


def test_every_expression_of_an_alarm_must_be_one_series_not_only_the_returned_one():
    assert alarm(
        expression(0, "all", "METRICS()", returned=False), expression(1, "e1", "SUM(all)"), metric(2, "m1")
    ) == [("ResultType", "all", "Array[TimeSeries]")]


def test_a_widget_may_show_an_array_but_not_a_scalar():
    assert widget(expression(0, "e1", "METRICS()"), metric(1, "m1")) == []
    assert widget(expression(0, "e1", "AVG(m1)"), metric(1, "m1")) == [("ResultType", "Latency", "e1", "Scalar")]


def test_an_unknown_id_in_a_widget_names_the_widget():
    assert widget(expression(0, None, "latency / 1000"), metric(1, "latency0")) == [
        ("UnknownId", "Latency", "row0", "latency")
    ]


def test_eleven_metrics_are_one_too_many_for_an_alarm():
    metrics = [metric(i + 1, f"m{i}") for i in range(11)]
    sum_of_all = expression(0, "total", " + ".join(f"m{i}" for i in range(11)))
    assert alarm(sum_of_all, *metrics) == [("TooManyMetrics", "11Metrics")]
    assert alarm(expression(0, "total", " + ".join(f"m{i}" for i in range(10))), *metrics[:10]) == []


def test_eleven_expressions_are_one_too_many_for_an_alarm():
    chained = [expression(i, f"e{i}", f"e{i + 1} + 1", returned=i == 0) for i in range(10)]
    last = expression(10, "e10", "m1", returned=False)
    assert alarm(*chained, last, metric(11, "m1")) == [("TooManyExpressions", "11Expressions")]


@pytest.mark.parametrize(("returned", "finding"), [(0, "0Returned"), (2, "2Returned")])
def test_an_alarm_returns_exactly_one_entry(returned, finding):
    queries = [expression(0, "e1", "m1 * 2", returned=returned >= 1), metric(1, "m1", returned=returned >= 2)]
    assert alarm(*queries) == [("ReturnData", finding)]


def test_return_data_left_out_counts_as_true():
    assert alarm(Query(0, "e1", "m1 * 2"), Query(1, "m1", None, 60)) == [("ReturnData", "2Returned")]


@pytest.mark.parametrize("period", [10, 20, 30, 60, 300, 3600])
def test_alarm_periods_of_10_20_30_or_minutes_pass(period):
    assert alarm(expression(0, "e1", "m1 * 2"), metric(1, "m1", period=period), evaluation_periods=1) == []


@pytest.mark.parametrize("period", [1, 5, 45, 90, 0])
def test_other_alarm_periods_are_refused(period):
    assert alarm(expression(0, "e1", "m1 * 2"), metric(1, "m1", period=period), evaluation_periods=1) == [
        ("Period", "m1", str(period))
    ]
    assert alarm(period=period, evaluation_periods=1) == [("Period", "alarm", str(period))]


def test_a_period_that_is_a_deploy_time_value_is_not_judged():
    assert alarm(period={"Ref": "Period"}, evaluation_periods=1) == []


@pytest.mark.parametrize(
    ("period", "evaluation_periods", "ok"),
    [(60, 1440, True), (60, 1441, False), (3600, 168, True), (3600, 169, False), (300, 289, False)],
)
def test_the_evaluation_window_is_a_day_under_an_hour_and_a_week_above(period, evaluation_periods, ok):
    findings = alarm(period=period, evaluation_periods=evaluation_periods)
    assert findings == ([] if ok else [("EvaluationWindow", f"{period}sx{evaluation_periods}")])


def test_widget_periods_follow_get_metric_data():
    assert widget(metric(0, "m1", period=1), metric(1, "m2", period=5), period=60) == []
    assert widget(metric(0, "m1", period=45), period=7) == [
        ("Period", "Latency", "default", "7"),
        ("Period", "Latency", "m1", "45"),
    ]


@pytest.mark.parametrize("bad_id", ["M1", "1m", "m-1", "m 1"])
def test_ids_start_lower_case_and_hold_letters_digits_and_underscores(bad_id):
    assert ("InvalidId", bad_id) in alarm(metric(0, bad_id, returned=True))


def test_an_id_given_twice_is_refused():
    assert ("DuplicateId", "m1") in alarm(expression(0, "m1", "m1 * 2"), metric(1, "m1"))


def test_a_widget_holds_at_most_500_metrics_and_expressions():
    assert widget(*(metric(i, None) for i in range(500))) == []
    assert widget(*(metric(i, None) for i in range(501))) == [("TooManyMetrics", "Latency", "501Rows")]
