"""The operand types each operator takes and the type it computes (CloudWatch user guide, "Using metric math":
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html#metric-math-syntax-arithmetic).

- Arithmetic `+ - * / ^`, "Arguments: S, S | S, TS | TS, TS | S, TS[] | TS, TS[]" (either order; examples
  `5 * m1`, `SUM(100/[m1, m2])`, `AVG([m1,m2]/m3)`, `METRICS()*100`). Two arrays is not among them.
- Unary `-`: "S | TS | TS[]".
- Comparison `== != <= >= < >` and logical `AND && OR ||`: "with either a pair of time series or a pair
  of single scalar values"; a series against a number is the guide's own example (`metric1 >= 30`,
  `IF(TS Comparison Operator S, ...)`). A pair of scalars gives a scalar, anything with a series a series;
  arrays are not documented operands.
"""

from __future__ import annotations

from governance.metric_math.value_types import TS, TS_ARRAY, MathType, S

ARITHMETIC = frozenset({"+", "-", "*", "/", "^"})
COMPARISON = frozenset({"==", "!=", "<=", ">=", "<", ">"})
LOGICAL = frozenset({"AND", "&&", "OR", "||"})

_ARITHMETIC_RESULTS: dict[frozenset[MathType], MathType] = {
    frozenset({S}): S,
    frozenset({S, TS}): TS,
    frozenset({TS}): TS,
    frozenset({S, TS_ARRAY}): TS_ARRAY,
    frozenset({TS, TS_ARRAY}): TS_ARRAY,
}
_COMPARISON_RESULTS: dict[frozenset[MathType], MathType] = {
    frozenset({S}): S,
    frozenset({S, TS}): TS,
    frozenset({TS}): TS,
}
NEGATION_OPERANDS = frozenset({S, TS, TS_ARRAY})


def binary_result(operator: str, left: MathType, right: MathType) -> MathType | None:
    """The type of `left operator right`, or None when CloudWatch does not take that pair."""
    table = _ARITHMETIC_RESULTS if operator in ARITHMETIC else _COMPARISON_RESULTS
    return table.get(frozenset({left, right}))


def negation_result(operand: MathType) -> MathType | None:
    return operand if operand in NEGATION_OPERANDS else None
