"""The metric math grammar: precedence, arguments, and the column of what does not parse."""

from __future__ import annotations

import pytest

from governance.metric_math.nodes import (
    Array,
    BinaryOperation,
    Call,
    Keyword,
    Negation,
    Number,
    Reference,
    String,
    references,
)
from governance.metric_math.parser import MetricMathSyntaxError, parse


def test_the_kits_4xx_rate_parses_into_a_guarded_division():
    assert parse("IF(invocations > 0, 100 * errors / invocations, 0)") == Call(
        "IF",
        (
            BinaryOperation(">", Reference("invocations"), Number(0)),
            BinaryOperation("/", BinaryOperation("*", Number(100), Reference("errors")), Reference("invocations")),
            Number(0),
        ),
    )


def test_an_array_is_a_node_of_its_own():
    assert parse("MAX([invocations, 1])") == Call("MAX", (Array((Reference("invocations"), Number(1))),))


@pytest.mark.parametrize(
    ("expression", "tree"),
    [
        ("m1 + m2 * m3", BinaryOperation("+", Reference("m1"), BinaryOperation("*", Reference("m2"), Reference("m3")))),
        (
            "(m1 + m2) * m3",
            BinaryOperation("*", BinaryOperation("+", Reference("m1"), Reference("m2")), Reference("m3")),
        ),
        ("m1 - m2 - m3", BinaryOperation("-", BinaryOperation("-", Reference("m1"), Reference("m2")), Reference("m3"))),
        ("-m1^2", Negation(BinaryOperation("^", Reference("m1"), Number(2)))),
        ("2^-1", BinaryOperation("^", Number(2), Negation(Number(1)))),
        ("m1^2^3", BinaryOperation("^", Reference("m1"), BinaryOperation("^", Number(2), Number(3)))),
        (
            "m1 > 1 AND m2 < 2 || m3",
            BinaryOperation(
                "||",
                BinaryOperation(
                    "AND",
                    BinaryOperation(">", Reference("m1"), Number(1)),
                    BinaryOperation("<", Reference("m2"), Number(2)),
                ),
                Reference("m3"),
            ),
        ),
        ("1.5e3 + .5", BinaryOperation("+", Number(1500), Number(0.5))),
    ],
)
def test_precedence_and_associativity(expression, tree):
    assert parse(expression) == tree


def test_strings_in_either_quote_and_bare_keywords_are_arguments():
    assert parse("SEARCH('{AWS/EC2,InstanceId} MetricName=\"CPUUtilization\"', 'Average', 300)") == Call(
        "SEARCH",
        (String('{AWS/EC2,InstanceId} MetricName="CPUUtilization"'), String("Average"), Number(300)),
    )
    assert parse('SORT(METRICS("errors"), AVG, DESC, 10)') == Call(
        "SORT", (Call("METRICS", (String("errors"),)), Keyword("AVG"), Keyword("DESC"), Number(10))
    )


def test_a_word_that_begins_with_a_keyword_is_not_split():
    assert parse("ORDERS") == Keyword("ORDERS")
    assert parse("m1 OR m2") == BinaryOperation("OR", Reference("m1"), Reference("m2"))


def test_references_lists_every_id_named():
    assert references(parse("IF(a > 0, SUM([b, METRICS()]) / c, d_1)")) == {"a", "b", "c", "d_1"}


@pytest.mark.parametrize(
    ("expression", "where"),
    [
        ("m1 +", "at the end"),
        ("m1 $ 2", "column 4"),
        ("MAX(m1", "at the end"),
        ("a < b < c", "column 7"),
        ("[]", "column 2"),
        ("", "at the end"),
    ],
)
def test_what_does_not_parse_is_refused_with_its_place(expression, where):
    with pytest.raises(MetricMathSyntaxError, match=where):
        parse(expression)
