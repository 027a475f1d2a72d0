"""The function table against the guide's own examples ("Using metric math", CloudWatch user guide).

"Every example in the Examples column is an expression that results in a single time series or an
array of time series": each must type-check, to TS or TS[], with the table and the operator rules.
"""

from __future__ import annotations

import pytest

from governance.metric_math.checker import FINAL_TYPES, MetricMathError, type_expression
from governance.metric_math.functions import FUNCTIONS
from governance.metric_math.value_types import TS, TS_ARRAY, S

# The examples of "Functions supported for metric math", "Basic arithmetic functions", "Comparison and
# logical operators", "The METRICS() function" and "Using IF expressions", as written (metric Ids).
GUIDE_EXAMPLES = (
    "ABS(m1-m2)", "MIN(ABS([m1, m2]))", "ABS(METRICS())",
    "ANOMALY_DETECTION_BAND(m1)", "ANOMALY_DETECTION_BAND(m1,4)",
    "SUM([m1,m2])/AVG(m2)", "AVG(METRICS())",
    "CEIL(m1)", "CEIL(METRICS())", "SUM(CEIL(METRICS()))",
    "DATAPOINT_COUNT(METRICS())",
    "DIFF(m1)", "DIFF_TIME(METRICS())",
    "FILL(m1,10)", "FILL(METRICS(), 0)", "FILL(METRICS(), m1)", "FILL(m1, MIN(m1))", "FILL(m1, REPEAT)",
    "FILL(METRICS(), LINEAR)",
    "IF(FIRST(SORT(METRICS(), AVG, DESC))>100, 1, 0)", "LAST(ANOMALY_DETECTION_BAND(m1))",
    "FLOOR(m1)", "FLOOR(METRICS())", "LOG(METRICS())", "LOG10(m1)",
    "MAX(m1)/m1", "MAX(METRICS())", "m1/METRIC_COUNT(METRICS())", 'SUM(METRICS("errors"))',
    "m1-MIN(m1)", "MIN(METRICS())", "MINUTE(m1)", "IF(DAY(m1)<6,m1)", "IF(MONTH(m1) == 4,m1)",
    "m1/PERIOD(m1)", "RATE(m1)", "RATE(METRICS())", "REMOVE_EMPTY(METRICS())", "RUNNING_SUM([m1,m2])",
    "SLICE(SORT(METRICS(), SUM, DESC), 0, 10)", "SLICE(SORT(METRICS(), AVG, ASC), 5)",
    "SORT(METRICS(), AVG, DESC, 10)", "SORT(METRICS(), MAX, ASC)",
    "m1/STDDEV(m1)", "STDDEV(METRICS())", "SUM(METRICS())/SUM(m1)", "SUM([m1,m2])",
    'SUM(METRICS("errors"))/SUM(METRICS("requests"))*100',
    "TIME_SERIES(MAX(m1))", "TIME_SERIES(5*AVG(m1))", "TIME_SERIES(10)",
    "5 * m1", "m1 - m2", "SUM(100/[m1, m2])", "AVG([m1,m2]/m3)", "METRICS()*100",
    "-5*m1", "-m1", "SUM(-[m1, m2])",
    "(m1 < m2)", "(m1 >= 30)", "(m1 > 15 AND m2 > 15)",
    'SUM([METRICS("4xx"), METRICS("5xx")])', "FILL(METRICS(), 0)",
    "IF(m1<400, m1)", "IF(m1<400, 10, 2)", "IF(m1 > m3, 1, 0)", "IF(m1, m2, m3)", "IF(m1, 5, m3)", "IF(m1, m2, 5)",
    # The CloudWatch blog's ("Enhance CloudWatch metrics with metric math functions", 2021) alarm expression.
    "IF((DAY(m1)<6 AND (HOUR(m1)>=9 AND HOUR(m1)<17)),m1)",
)  # fmt: skip

METRIC_IDS = frozenset({"m1", "m2", "m3"})


def metrics_only(name: str):
    if name in METRIC_IDS:
        return TS
    raise MetricMathError("UnknownId", name, name)


@pytest.mark.parametrize("expression", GUIDE_EXAMPLES)
def test_every_example_of_the_guide_is_a_series_or_an_array_of_series(expression):
    assert type_expression(expression, metrics_only, METRIC_IDS) in FINAL_TYPES


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("MAX(m1)", S),  # "The MAX of a single time series returns a scalar"
        ("MAX([m1, m2])", TS),  # "The MAX of an array of time series returns a single time series"
        ("PERIOD(m1)/60", S),  # the arithmetic table's example: a scalar, usable inside a larger expression
        # The one example of the function table that is not a series: S / S by the table's own rows ("SUM of
        # a single time series returns a scalar"), and "taking the AVG of a single time series produces a
        # scalar number, so it can't be the final expression result". The rule follows the rows.
        ("SUM(m1) / DATAPOINT_COUNT(m1)", S),
        ("SEARCH('{AWS/EC2,InstanceId} MetricName=\"CPUUtilization\"', 'Average', 300)", TS_ARRAY),
        ("INSIGHT_RULE_METRIC('MyRule', 'UniqueContributors')", TS),
        ("SERVICE_QUOTA(m1)", TS),
    ],
)
def test_result_types_follow_the_table(expression, expected):
    assert type_expression(expression, metrics_only, METRIC_IDS) == expected


def test_the_table_holds_every_function_of_the_guide():
    documented = {
        "ABS", "ANOMALY_DETECTION_BAND", "AVG", "CEIL", "DATAPOINT_COUNT", "DIFF", "DIFF_TIME", "FILL", "FIRST",
        "LAST", "FLOOR", "IF", "INSIGHT_RULE_METRIC", "LOG", "LOG10", "MAX", "METRIC_COUNT", "METRICS", "MIN",
        "MINUTE", "HOUR", "DAY", "DATE", "MONTH", "YEAR", "EPOCH", "PERIOD", "RATE", "REMOVE_EMPTY", "RUNNING_SUM",
        "SEARCH", "SERVICE_QUOTA", "SLICE", "SORT", "STDDEV", "SUM", "TIME_SERIES",
    }  # fmt: skip
    assert set(FUNCTIONS) == documented
