"""Parse a CloudWatch metric math expression into `nodes`.

The grammar is the syntax of "Using metric math" (CloudWatch user guide, "Metric math syntax and
functions", https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html):
arithmetic `+ - * / ^`, unary `-`, comparison `== != <= >= < >`, logical `AND && OR ||`, parentheses,
arrays `[m1, m2]`, function calls `NAME(args)` (functions are upper-case), Ids (start with a lower-case
letter: letters, digits, `_`), numbers, quoted strings (METRICS("errors"), SEARCH('...', 'Average', 300))
and bare upper-case words that some functions take as arguments (FILL(m1, REPEAT), SORT(..., AVG, DESC)).

Lark (LALR) rather than a hand parser: the grammar below is the whole syntax in one place, to be read
against the guide, and lark reports the column of the first token it cannot take. Precedence, lowest
first: OR, AND, comparison (not chained), + -, * /, unary -, ^ (right-associative).
"""

from __future__ import annotations

import functools

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedInput, UnexpectedToken

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

GRAMMAR = r"""
?start: expr

?expr: disjunction
?disjunction: conjunction
    | disjunction OR conjunction               -> binary
?conjunction: comparison
    | conjunction AND comparison               -> binary
?comparison: sum
    | sum COMPARATOR sum                       -> binary
?sum: product
    | sum PLUS product                         -> binary
    | sum MINUS product                        -> binary
?product: unary
    | product TIMES unary                      -> binary
    | product DIVIDED unary                    -> binary
?unary: power
    | MINUS unary                              -> negation
?power: atom
    | atom POWER unary                         -> binary
?atom: NUMBER                                  -> number
    | STRING                                   -> string
    | ID                                       -> reference
    | NAME                                     -> keyword
    | (NAME | ID) "(" [arguments] ")"          -> call
    | "[" arguments "]"                        -> array
    | "(" expr ")"
arguments: expr ("," expr)*

OR: "OR" | "||"
AND: "AND" | "&&"
COMPARATOR: "==" | "!=" | "<=" | ">=" | "<" | ">"
PLUS: "+"
MINUS: "-"
TIMES: "*"
DIVIDED: "/"
POWER: "^"
NUMBER: /(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/
STRING: /"(\\.|[^"\\])*"/ | /'(\\.|[^'\\])*'/
ID: /[a-z][A-Za-z0-9_]*/
NAME: /[A-Z][A-Za-z0-9_]*/

%ignore /\s+/
"""


class MetricMathSyntaxError(ValueError):
    """The expression does not parse; the message names the column."""


@v_args(inline=True)
class _ToNodes(Transformer):
    def number(self, token: Token) -> Number:
        return Number(float(token))

    def string(self, token: Token) -> String:
        quote = token[0]
        return String(token[1:-1].replace("\\" + quote, quote))

    def reference(self, token: Token) -> Reference:
        return Reference(str(token))

    def keyword(self, token: Token) -> Keyword:
        return Keyword(str(token))

    def call(self, name: Token, arguments: tuple[Node, ...] | None) -> Call:
        return Call(str(name), arguments or ())

    def array(self, items: tuple[Node, ...]) -> Array:
        return Array(items)

    def arguments(self, *items: Node) -> tuple[Node, ...]:
        return items

    def negation(self, _minus: Token, operand: Node) -> Negation:
        return Negation(operand)

    def binary(self, left: Node, operator: Token, right: Node) -> BinaryOperation:
        return BinaryOperation(str(operator), left, right)


@functools.cache
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", maybe_placeholders=True)


@functools.lru_cache(maxsize=1024)
def parse(expression: str) -> Node:
    """The tree of `expression`; MetricMathSyntaxError if it does not parse."""
    try:
        tree = _parser().parse(expression)
    except UnexpectedInput as error:
        ended = isinstance(error, UnexpectedToken) and error.token.type == "$END"
        if ended or error.pos_in_stream is None:
            where = "at the end"
        else:
            where = f"at column {error.column} (near {expression[error.pos_in_stream : error.pos_in_stream + 10]!r})"
        raise MetricMathSyntaxError(f"cannot parse {expression!r} {where}") from None
    return _ToNodes().transform(tree)
