"""`when:` expressions: what parses (and into what), what is refused and where, what evaluates to what.

Hostile input — code, dunder names, deep nesting, huge strings — is refused by the grammar or the
bounds, never reaches anything that could run it.
"""

from __future__ import annotations

import pytest

from dagwright.api.expression import (
    MAX_DEPTH,
    MAX_EXPRESSION_LENGTH,
    BoolOp,
    Compare,
    EvaluationError,
    ExpressionError,
    Literal,
    Name,
    Not,
    evaluate,
    names_in,
    parse_expression,
)

VALUES = {
    "params.day": "sat",
    "params.env": "prod",
    "params.limit": "10",
    "run.logicalDate": "2026-11-24T02:00:00Z",
    "tasks.check.outputs.rows": "42",
    "tasks.check.outputs.changed": "true",
    "tasks.list-files.outputs.files": '["a.csv", "b.csv"]',
    "tasks.check.outputs.label": "n/a",
}

TRUTH = [
    ("params.day == 'sat'", True),
    ('params.day != "sat"', False),
    ("params.day in ['sat', 'sun']", True),
    ("params.day not in ['sat', 'sun']", False),
    ("not params.day in ['sat', 'sun']", False),
    ("tasks.check.outputs.rows > 0", True),
    ("tasks.check.outputs.rows >= 42.0", True),
    ("tasks.check.outputs.rows < 10", False),
    ("tasks.check.outputs.rows <= params.limit", False),  # strings: '42' <= '10' is false, as text
    ("tasks.check.outputs.rows == 42", True),
    ("tasks.check.outputs.changed", True),
    ("tasks.check.outputs.changed == true", True),
    ("not tasks.check.outputs.changed", False),
    ("'a.csv' in tasks.list-files.outputs.files", True),
    ("'c.csv' in tasks.list-files.outputs.files", False),
    ("'ro' in params.env", True),
    ("run.logicalDate >= '2026-11-01'", True),
    ("params.env == 'prod' and tasks.check.outputs.rows > 0", True),
    ("params.env == 'dev' or tasks.check.outputs.rows > 100", False),
    ("params.env == 'dev' or params.day == 'sat' and tasks.check.outputs.rows > 0", True),
    ("(params.env == 'dev' or params.day == 'sat') and tasks.check.outputs.rows > 100", False),
    ("not (params.env == 'dev')", True),
    ("true", True),
    ("false or not false", True),
    ("-1 < 0", True),
]


@pytest.mark.parametrize("text,expected", TRUTH, ids=[t for t, _ in TRUTH])
def test_an_expression_evaluates_to(text, expected):
    assert evaluate(parse_expression(text), VALUES) is expected


def test_and_binds_tighter_than_or_and_not_tighter_than_and():
    tree = parse_expression("not params.a == 'x' and params.b == 'y' or params.c == 'z'")
    assert isinstance(tree, BoolOp) and tree.op == "or"
    left = tree.operands[0]
    assert isinstance(left, BoolOp) and left.op == "and"
    assert isinstance(left.operands[0], Not) and isinstance(left.operands[0].operand, Compare)


def test_names_carry_hyphenated_task_names_and_their_position():
    tree = parse_expression("tasks.list-files.outputs.count > 0")
    assert isinstance(tree, Compare)
    assert tree.left == Name("tasks.list-files.outputs.count", 1)
    assert tree.right == Literal(0.0, 34)
    assert [n.path for n in names_in(tree)] == ["tasks.list-files.outputs.count"]


REFUSED = [
    ("", "empty expression", 1),
    ("params.day ==", "expected a value, found the end", 14),
    ("params.day == 'sat' and", "expected a value, found the end", 24),
    ("params.day = 'sat'", "unexpected character '='", 12),
    ("day == 'sat'", "unknown name 'day'", 1),
    ("params.day == sat", "unknown name 'sat'", 15),
    ("(params.day == 'sat'", "expected ')', found the end", 21),
    ("params.day == 'sat')", "unexpected ')'", 20),
    ("1 < params.n < 3", "comparisons do not chain", 14),
    ("params.day == 'sat", "unexpected character \"'\"", 15),
    ("params.x and and", "expected a value, found 'and'", 14),
    # hostile: code, attribute access, calls, arithmetic are not in the grammar
    ("__import__('os').system('id')", "unexpected character '.'", 17),
    ("params.__class__.__bases__", None, None),  # a name like any other: refused as unknown by validation
    ("open('/etc/passwd')", "unknown name 'open'", 1),
    ("params.a + 1", "unexpected character '+'", 10),
    ("params.a; params.b", "unexpected character ';'", 9),
    ("lambda: 1", "unexpected character ':'", 7),
    ("{{ params.a }}", "unexpected character '{'", 1),
    ("params.a[0]", "unexpected '['", 9),
    ("params.a if true else false", "unexpected 'if'", 10),
]


@pytest.mark.parametrize("text,reason,position", REFUSED, ids=[t or "(empty)" for t, _, _ in REFUSED])
def test_a_malformed_expression_is_refused_at_its_position(text, reason, position):
    if reason is None:
        assert [n.path for n in names_in(parse_expression(text))] == ["params.__class__.__bases__"]
        return
    with pytest.raises(ExpressionError) as error:
        parse_expression(text)
    assert reason in error.value.reason
    assert error.value.position == position
    assert f"at position {position}" in str(error.value)


def test_deep_nesting_is_refused_before_it_can_exhaust_the_stack():
    with pytest.raises(ExpressionError, match=f"nested deeper than {MAX_DEPTH}"):
        parse_expression("(" * 500 + "true" + ")" * 500)
    with pytest.raises(ExpressionError, match="nested deeper"):
        parse_expression("not " * 200 + "true")
    assert evaluate(parse_expression("(" * MAX_DEPTH + "true" + ")" * MAX_DEPTH), {}) is True


def test_a_huge_expression_is_refused_by_length():
    with pytest.raises(ExpressionError, match="longer than"):
        parse_expression("true or " * MAX_EXPRESSION_LENGTH + "true")


def test_quotes_escape_inside_strings():
    assert evaluate(parse_expression(r"params.q == 'it\'s'"), {"params.q": "it's"}) is True


ERRORS = [
    ("params.day > 3", "params.day is 'sat', not a number"),
    ("tasks.check.outputs.missing == 'x'", "tasks.check.outputs.missing has no value"),
    ("params.env", "params.env is 'prod', not true or false"),
    ("tasks.check.outputs.label >= 1", "tasks.check.outputs.label is 'n/a', not a number"),
]


@pytest.mark.parametrize("text,message", ERRORS, ids=[t for t, _ in ERRORS])
def test_an_expression_that_cannot_be_evaluated_says_why(text, message):
    with pytest.raises(EvaluationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        evaluate(parse_expression(text), VALUES)


def test_or_stops_at_the_first_true_operand_so_a_missing_value_after_it_is_not_read():
    assert evaluate(parse_expression("true or tasks.x.outputs.y == 'z'"), {}) is True
