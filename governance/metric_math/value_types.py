"""The types metric math computes with ("Data type abbreviations", CloudWatch user guide, "Using metric
math": https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html#metric-math-syntax-datatypes).

S is a scalar number, TS one time series, TS[] an array of time series. An array written `[a, b]` that
holds anything but time series (a number, a string) has no metric math type: CloudWatch rejects it
wherever it is used ("Unsupported operand type(s) for MAX: '[Array[TimeSeries, Scalar]]'").
"""

from __future__ import annotations

from enum import Enum


class MathType(Enum):
    SCALAR = "S"
    TIME_SERIES = "TS"
    TIME_SERIES_ARRAY = "TS[]"
    STRING = "string"  # only as a function argument (METRICS, SEARCH, INSIGHT_RULE_METRIC)
    KEYWORD = "keyword"  # only as a function argument (FILL's REPEAT, SORT's AVG/ASC ...)
    MIXED_ARRAY = "array of mixed types"  # `[m1, 1]`: accepted by nothing


S = MathType.SCALAR
TS = MathType.TIME_SERIES
TS_ARRAY = MathType.TIME_SERIES_ARRAY

# A value an expression may compute with (the others only appear as arguments, or not at all).
VALUES = frozenset({S, TS, TS_ARRAY})

# How CloudWatch's own messages name each type, so a finding reads like the error it predicts.
CLOUDWATCH_NAMES = {
    S: "Scalar",
    TS: "TimeSeries",
    TS_ARRAY: "Array[TimeSeries]",
    MathType.STRING: "String",
}
