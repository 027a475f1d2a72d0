"""Every metric math function with each signature CloudWatch documents, and its result type.

Source: "Functions supported for metric math" and "Using IF expressions", CloudWatch user guide,
"Using metric math" (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html#metric-math-syntax-functions-list;
the page's source, awsdocs/amazon-cloudwatch-user-guide doc_source/using-metric-math.md at b3554970).
A row of the table "Arguments: TS TS[] / Return type: S TS" is two signatures: TS -> S and TS[] -> TS.

A function that is not in this table is reported as unknown: if CloudWatch documents a new one (or a
signature this table lacks), add its row here, with the guide's wording, rather than loosening the check.
"""

from __future__ import annotations

from dataclasses import dataclass

from governance.metric_math.value_types import TS, TS_ARRAY, MathType, S


@dataclass(frozen=True)
class Parameter:
    types: frozenset[MathType] = frozenset()
    keywords: frozenset[str] = frozenset()  # bare words accepted here (REPEAT, AVG, DESC ...)
    metric_only: bool = False  # an Id of a metric, not of an expression (PERIOD)

    def describe(self) -> str:
        names = [t.value for t in sorted(self.types, key=lambda t: t.value)] + sorted(self.keywords)
        return " | ".join(names) + (" (the Id of a metric)" if self.metric_only else "")


@dataclass(frozen=True)
class Signature:
    parameters: tuple[Parameter, ...]
    returns: MathType


@dataclass(frozen=True)
class Function:
    name: str
    signatures: tuple[Signature, ...]


def _p(*types: MathType, keywords: tuple[str, ...] = (), metric_only: bool = False) -> Parameter:
    return Parameter(frozenset(types), frozenset(keywords), metric_only)


def _sig(returns: MathType, *parameters: Parameter) -> Signature:
    return Signature(parameters, returns)


STRING = _p(MathType.STRING)
SORT_FUNCTIONS = ("AVG", "MIN", "MAX", "SUM")  # SORT: "The function you use can be AVG, MIN, MAX, or SUM"
SORT_ORDERS = ("ASC", "DESC")

# TS -> TS and TS[] -> TS[]: applied to each data point of each series.
_ELEMENTWISE = (_sig(TS, _p(TS)), _sig(TS_ARRAY, _p(TS_ARRAY)))
# TS -> S (over all data points) and TS[] -> TS (across the series, per timestamp).
_REDUCING = (_sig(S, _p(TS)), _sig(TS, _p(TS_ARRAY)))
# MINUTE ... EPOCH: "TS -> TS".
_TIMESTAMP = (_sig(TS, _p(TS)),)
# IF: "IF(TS Comparison Operator S, S | TS, S | TS)", IF(TS, TS, TS), IF(TS, S, TS), IF(TS, TS, S), IF(TS, S, S),
# IF(S, TS, TS); the third argument is optional (italic in the guide). A comparison of TS and S is a TS.
_IF = (
    _sig(TS, _p(TS), _p(TS, S)),
    _sig(TS, _p(TS), _p(TS, S), _p(TS, S)),
    _sig(TS, _p(S), _p(TS)),
    _sig(TS, _p(S), _p(TS), _p(TS)),
)

_TABLE: dict[str, tuple[Signature, ...]] = {
    "ABS": _ELEMENTWISE,
    "ANOMALY_DETECTION_BAND": (_sig(TS_ARRAY, _p(TS)), _sig(TS_ARRAY, _p(TS), _p(S))),
    "AVG": _REDUCING,
    "CEIL": _ELEMENTWISE,
    "DATAPOINT_COUNT": _REDUCING,
    "DIFF": _ELEMENTWISE,
    "DIFF_TIME": _ELEMENTWISE,
    # "TS, [S | REPEAT | LINEAR]" and "TS[], [TS | S | REPEAT | LINEAR]".
    "FILL": (
        _sig(TS, _p(TS), _p(S, keywords=("REPEAT", "LINEAR"))),
        _sig(TS_ARRAY, _p(TS_ARRAY), _p(TS, S, keywords=("REPEAT", "LINEAR"))),
    ),
    "FIRST": (_sig(TS, _p(TS_ARRAY)),),
    "LAST": (_sig(TS, _p(TS_ARRAY)),),
    "FLOOR": _ELEMENTWISE,
    "IF": _IF,
    "INSIGHT_RULE_METRIC": (_sig(TS, STRING, STRING),),  # INSIGHT_RULE_METRIC(ruleName, metricName)
    "LOG": _ELEMENTWISE,
    "LOG10": _ELEMENTWISE,
    "MAX": _REDUCING,
    "METRIC_COUNT": (_sig(S, _p(TS_ARRAY)),),
    "METRICS": (_sig(TS_ARRAY), _sig(TS_ARRAY, STRING)),  # "null | string"
    "MIN": _REDUCING,
    "MINUTE": _TIMESTAMP,
    "HOUR": _TIMESTAMP,
    "DAY": _TIMESTAMP,
    "DATE": _TIMESTAMP,
    "MONTH": _TIMESTAMP,
    "YEAR": _TIMESTAMP,
    "EPOCH": _TIMESTAMP,
    # "Valid input is metrics, not the results of other expressions."
    "PERIOD": (_sig(S, _p(TS, metric_only=True)),),
    "RATE": _ELEMENTWISE,
    "REMOVE_EMPTY": (_sig(TS_ARRAY, _p(TS_ARRAY)),),
    "RUNNING_SUM": _ELEMENTWISE,
    # "Search expression -> one or more TS": SEARCH(' {Namespace,Dimension} terms ', 'Statistic', Period)
    # ("Using search expressions in graphs"); "You can't create an alarm based on a SEARCH expression".
    "SEARCH": (_sig(TS_ARRAY, STRING, STRING), _sig(TS_ARRAY, STRING, STRING, _p(S))),
    "SERVICE_QUOTA": (_sig(TS, _p(TS)),),  # "TS that is a usage metric"
    "SLICE": (_sig(TS_ARRAY, _p(TS_ARRAY), _p(S), _p(S)), _sig(TS_ARRAY, _p(TS_ARRAY), _p(S))),
    "SORT": (
        _sig(TS_ARRAY, _p(TS_ARRAY), _p(keywords=SORT_FUNCTIONS), _p(keywords=SORT_ORDERS)),
        _sig(TS_ARRAY, _p(TS_ARRAY), _p(keywords=SORT_FUNCTIONS), _p(keywords=SORT_ORDERS), _p(S)),
    ),
    "STDDEV": _REDUCING,
    "SUM": _REDUCING,
    "TIME_SERIES": (_sig(TS, _p(S)),),
}

FUNCTIONS: dict[str, Function] = {name: Function(name, signatures) for name, signatures in _TABLE.items()}
