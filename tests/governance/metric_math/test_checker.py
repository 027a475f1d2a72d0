"""The checker rejects what CloudWatch rejects, in CloudWatch's words where it has them."""

from __future__ import annotations

import pytest

from governance.metric_math.checker import MetricMathError, type_expression, type_queries
from governance.metric_math.queries import Query
from governance.metric_math.value_types import TS, TS_ARRAY, MathType


def entries(**expressions: str) -> list[Query]:
    """Two metrics (errors, invocations), then the given expressions by Id."""
    metrics = [Query(0, "errors", None), Query(1, "invocations", None)]
    return metrics + [Query(2 + i, name, text) for i, (name, text) in enumerate(expressions.items())]


def only_error(**expressions: str) -> MetricMathError:
    errors = [r.error for r in type_queries(entries(**expressions)) if r.error is not None]
    assert len(errors) == 1, errors
    return errors[0]


def test_a_scalar_in_an_array_is_refused_as_cloudwatch_refuses_it():
    error = only_error(rate="100 * errors / MAX([invocations, 1])")
    assert (error.kind, error.detail) == ("ArgumentTypes", "MAX(Array[TimeSeries, Scalar])")
    # CloudWatch's PutMetricAlarm error, quoted in issue 21.
    assert "Unsupported operand type(s) for MAX: '[Array[TimeSeries, Scalar]]'" in str(error)
    assert "MAX(TS) -> S | MAX(TS[]) -> TS" in str(error)


def test_the_guarded_division_is_one_time_series():
    (result,) = type_queries(entries(rate="IF(invocations > 0, 100 * errors / invocations, 0)"))[2:]
    assert (result.type, result.error) == (TS, None)


@pytest.mark.parametrize(
    ("expression", "kind", "detail"),
    [
        ("MEDIAN(errors)", "UnknownFunction", "MEDIAN"),
        ("max(errors)", "UnknownFunction", "max"),  # functions are upper-case
        ("errors / requests", "UnknownId", "requests"),
        ("Errors + 1", "UnknownId", "Errors"),  # Ids start lower-case: a capitalised word is neither
        ("MAX(errors, invocations)", "ArgumentTypes", "MAX(TimeSeries, TimeSeries)"),  # one argument
        ("ABS(5)", "ArgumentTypes", "ABS(Scalar)"),
        ("FILL(errors, DESC)", "ArgumentTypes", "FILL(TimeSeries, DESC)"),
        ("FILL(errors, invocations)", "ArgumentTypes", "FILL(TimeSeries, TimeSeries)"),  # TS filler: arrays only
        ("SORT(METRICS(), MEDIAN, DESC)", "ArgumentTypes", "SORT(Array[TimeSeries], MEDIAN, DESC)"),
        ("PERIOD(errors * 2)", "ArgumentTypes", "PERIOD(TimeSeries)"),  # metrics, not expression results
        ("METRICS(errors)", "ArgumentTypes", "METRICS(TimeSeries)"),
        ("IF(1, 2, 3)", "ArgumentTypes", "IF(Scalar, Scalar, Scalar)"),
        ("METRICS() + METRICS()", "OperandTypes", "Array[TimeSeries] + Array[TimeSeries]"),
        ("METRICS() > 1", "OperandTypes", "Array[TimeSeries] > Scalar"),
        ("[errors, 1] * 2", "OperandTypes", "Array[TimeSeries, Scalar] * Scalar"),
        ("errors + 'text'", "OperandTypes", "TimeSeries + String"),
        ("errors +", "Unparsable", "errors +"),
    ],
)
def test_what_cloudwatch_would_refuse_is_refused(expression, kind, detail):
    error = only_error(e1=expression)
    assert (error.kind, error.detail) == (kind, detail)


def test_an_id_of_another_expression_has_that_expressions_type():
    results = type_queries(entries(all="METRICS()", total="SUM(all)", share="errors / total"))
    assert [r.type for r in results[2:]] == [TS_ARRAY, TS, TS]


def test_expressions_that_use_each_other_are_a_cycle_reported_once():
    error = only_error(e1="e2 + 1", e2="e1 * 2")
    assert (error.kind, error.detail) == ("ReferenceCycle", "e1 -> e2 -> e1")
    assert only_error(e1="e1 + 1").detail == "e1 -> e1"


def test_an_expression_using_a_broken_one_is_not_reported_again():
    results = type_queries(entries(bad="NOPE(errors)", user="bad * 2"))
    assert [(r.query.id, r.error and r.error.kind) for r in results[2:]] == [("bad", "UnknownFunction"), ("user", None)]


def test_a_metrics_insights_query_is_not_metric_math_and_not_checked():
    (result,) = type_queries([Query(0, "q", 'SELECT AVG(CPUUtilization) FROM SCHEMA("AWS/EC2", InstanceId)')])
    assert (result.type, result.error) == (None, None)


def test_a_bare_keyword_is_not_a_result():
    with pytest.raises(MetricMathError, match="neither an Id"):
        type_expression("REPEAT", lambda name: TS)


def test_a_mixed_array_on_its_own_has_no_value_type():
    assert type_expression("[errors, 1]", lambda name: TS) == MathType.MIXED_ARRAY
