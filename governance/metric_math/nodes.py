"""The syntax tree of a CloudWatch metric math expression (what `parser.parse` returns)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class String:
    """A quoted argument: METRICS("errors"), SEARCH('{AWS/EC2,InstanceId} ...', 'Average', 300)."""

    value: str


@dataclass(frozen=True)
class Reference:
    """The Id of another metric or expression in the same alarm or widget (starts lower-case)."""

    name: str


@dataclass(frozen=True)
class Keyword:
    """A bare upper-case word: an argument some functions take (FILL's REPEAT, SORT's AVG and DESC)."""

    name: str


@dataclass(frozen=True)
class Array:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Call:
    function: str
    arguments: tuple[Node, ...]


@dataclass(frozen=True)
class Negation:
    operand: Node


@dataclass(frozen=True)
class BinaryOperation:
    operator: str  # as written: "+", "&&", "AND", ...
    left: Node
    right: Node


Node = Number | String | Reference | Keyword | Array | Call | Negation | BinaryOperation


def references(node: Node) -> set[str]:
    """Every Id the expression names."""
    match node:
        case Reference(name):
            return {name}
        case Array(items) | Call(_, items):
            return set().union(*(references(item) for item in items))
        case Negation(operand):
            return references(operand)
        case BinaryOperation(_, left, right):
            return references(left) | references(right)
    return set()
