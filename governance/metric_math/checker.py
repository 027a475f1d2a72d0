"""Type-check metric math: one expression against the Ids it may use, and a whole alarm or widget.

CloudWatch parses and types every expression when PutMetricAlarm or PutDashboard is called, never at
synth: `100 * errors / MAX([invocations, 1])` deploys as far as CloudFormation is concerned and then
fails the alarm's create with "Unsupported operand type(s) for MAX: '[Array[TimeSeries, Scalar]]'". The
checker gives that error at synth, with the same wording where it can.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from governance.metric_math.functions import FUNCTIONS, Function, Parameter
from governance.metric_math.nodes import (
    Array,
    BinaryOperation,
    Call,
    Keyword,
    Negation,
    Node,
    Number,
    Reference,
    String,
)
from governance.metric_math.operators import binary_result, negation_result
from governance.metric_math.parser import MetricMathSyntaxError, parse
from governance.metric_math.queries import Query
from governance.metric_math.value_types import CLOUDWATCH_NAMES, TS, TS_ARRAY, MathType, S

# Metrics Insights queries share the Expression field (MetricDataQuery.Expression) but are another
# language: they are not metric math and are not checked here.
INSIGHTS_QUERY_START = "SELECT "


class MetricMathError(ValueError):
    """`kind` (the finding's first part) and a short `detail` naming what is wrong; str() says why."""

    def __init__(self, kind: str, detail: str, message: str) -> None:
        super().__init__(message)
        self.kind, self.detail = kind, detail


class _UsesBrokenEntry(Exception):
    """An Id names an entry that has an error of its own: reported there, not again here."""


Resolver = Callable[[str], MathType | None]  # type of an Id; None if that entry could not be typed


@dataclass(frozen=True)
class _Typer:
    resolve: Resolver
    metric_ids: frozenset[str]

    def type_of(self, node: Node) -> MathType:
        """The node's type; STRING, KEYWORD and MIXED_ARRAY are returned, not rejected (callers decide)."""
        match node:
            case Number():
                return S
            case String():
                return MathType.STRING
            case Keyword():
                return MathType.KEYWORD
            case Reference(name):
                resolved = self.resolve(name)
                if resolved is None:
                    raise _UsesBrokenEntry(name)
                return resolved
            case Array(items):
                types = [self.type_of(item) for item in items]
                return TS_ARRAY if all(t in (TS, TS_ARRAY) for t in types) else MathType.MIXED_ARRAY
            case Negation(operand):
                operand_type = self._operand(operand)
                result = negation_result(operand_type)
                if result is None:
                    raise _operand_error("-", [self.describe(operand)])
                return result
            case BinaryOperation(operator, left, right):
                left_type, right_type = self._operand(left), self._operand(right)
                result = binary_result(operator, left_type, right_type)
                if result is None:
                    raise _operand_error(operator, [self.describe(left), self.describe(right)])
                return result
            case Call(name, arguments):
                return self._call(name, arguments)
        raise AssertionError(node)

    def _operand(self, node: Node) -> MathType:
        if isinstance(node, Keyword):
            raise _not_a_value(node.name)
        return self.type_of(node)

    def _call(self, name: str, arguments: tuple[Node, ...]) -> MathType:
        function = FUNCTIONS.get(name)
        if function is None:
            hint = " (functions are written in upper case)" if name.upper() in FUNCTIONS else ""
            raise MetricMathError(
                "UnknownFunction", name, f"{name} is not a metric math function CloudWatch documents{hint}"
            )
        types = [self.type_of(argument) for argument in arguments]
        for signature in function.signatures:
            if len(signature.parameters) == len(arguments) and all(
                self._accepts(parameter, argument, argument_type)
                for parameter, argument, argument_type in zip(signature.parameters, arguments, types, strict=True)
            ):
                return signature.returns
        described = ", ".join(self.describe(argument) for argument in arguments)
        raise MetricMathError(
            "ArgumentTypes",
            f"{name}({described})",
            f"Unsupported operand type(s) for {name}: '[{described}]' (documented: {_documented(function)})",
        )

    def _accepts(self, parameter: Parameter, argument: Node, argument_type: MathType) -> bool:
        if isinstance(argument, Keyword):
            return argument.name in parameter.keywords
        if parameter.metric_only and not (isinstance(argument, Reference) and argument.name in self.metric_ids):
            return False
        return argument_type in parameter.types

    def describe(self, node: Node) -> str:
        """The node's type as CloudWatch's messages name it (`Array[TimeSeries, Scalar]`)."""
        match node:
            case Keyword(name):
                return name
            case Array(items):
                return f"Array[{', '.join(self.describe(item) for item in items)}]"
        return CLOUDWATCH_NAMES[self.type_of(node)]


def _documented(function: Function) -> str:
    return " | ".join(
        f"{function.name}({', '.join(p.describe() for p in signature.parameters)}) -> {signature.returns.value}"
        for signature in function.signatures
    )


def _operand_error(operator: str, described: list[str]) -> MetricMathError:
    return MetricMathError(
        "OperandTypes",
        f" {operator} ".join(described) if len(described) == 2 else f"{operator}{described[0]}",
        f"Unsupported operand type(s) for {operator}: '[{', '.join(described)}]'",
    )


def _not_a_value(name: str) -> MetricMathError:
    return MetricMathError(
        "UnknownId",
        name,
        f"{name} is neither an Id (Ids start with a lower-case letter) nor a function call",
    )


def type_expression(expression: str, resolve: Resolver, metric_ids: frozenset[str] = frozenset()) -> MathType:
    """The type of `expression`; MetricMathError naming the first problem.

    `resolve(id)` gives the type of another entry, raises MetricMathError for an Id that does not exist,
    and returns None for an entry that has an error of its own (then this raises _UsesBrokenEntry).
    `metric_ids`: the Ids of metrics (not expressions), for PERIOD.
    """
    try:
        tree = parse(expression)
    except MetricMathSyntaxError as error:
        raise MetricMathError("Unparsable", _brief(expression), str(error)) from None
    typer = _Typer(resolve, metric_ids)
    if isinstance(tree, Keyword):
        raise _not_a_value(tree.name)
    return typer.type_of(tree)


def _brief(expression: str, limit: int = 60) -> str:
    text = " ".join(expression.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class QueryResult:
    query: Query
    type: MathType | None  # None: not typed (its own error, an entry it uses is broken, or not metric math)
    error: MetricMathError | None = None


def type_queries(queries: Sequence[Query]) -> list[QueryResult]:
    """Type every entry of one alarm or widget; an expression may use the Id of any other entry."""
    by_id = {query.id: query for query in queries if query.id}
    metric_ids = frozenset(query.id for query in queries if query.id and query.is_metric)
    results: dict[int, QueryResult] = {}
    in_progress: list[str] = []

    def result_of(query: Query) -> QueryResult:
        if query.position not in results:
            results[query.position] = compute(query)
        return results[query.position]

    def resolve(name: str) -> MathType | None:
        query = by_id.get(name)
        if query is None:
            raise MetricMathError("UnknownId", name, f"no metric or expression has the Id {name!r} here")
        if name in in_progress:
            cycle = " -> ".join([*in_progress[in_progress.index(name) :], name])
            raise MetricMathError("ReferenceCycle", cycle, f"expressions refer to each other: {cycle}")
        return result_of(query).type

    def compute(query: Query) -> QueryResult:
        if query.is_metric:
            return QueryResult(query, TS)
        if query.expression.lstrip().upper().startswith(INSIGHTS_QUERY_START):
            return QueryResult(query, None)
        if query.id:
            in_progress.append(query.id)
        try:
            return QueryResult(query, type_expression(query.expression, resolve, metric_ids))
        except MetricMathError as error:
            return QueryResult(query, None, error)
        except _UsesBrokenEntry:
            return QueryResult(query, None)
        finally:
            if query.id:
                in_progress.pop()

    return [result_of(query) for query in queries]


# The types an expression may end in ("The final result of any math expression must be a single time
# series or an array of time series", "Using metric math").
FINAL_TYPES = frozenset({TS, TS_ARRAY})
