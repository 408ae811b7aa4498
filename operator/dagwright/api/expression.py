"""`when:` expressions: a tokenizer and a recursive-descent parser into a small AST, and its evaluator.

Pure, and the only code that reads a `when:` string. Nothing here calls `eval`, `exec`,
`compile` or Python's `ast`: the grammar is ours, written out below, and every node type the
parser can build is a dataclass of this module, so nothing else can ever be evaluated.

Why a hand-written parser rather than Python's `ast` in `mode='eval'` with a whitelist of node
types: names in a condition are dotted paths whose segments are task names, and task names are
DNS labels with hyphens (`tasks.list-files.outputs.count`), which Python parses as a
subtraction; Python's grammar would also decide what `==` chains, `is`, `not in` and string
prefixes mean, and its error positions and messages are about Python, not about our language.
A forty-line grammar with its own tokens gives exact positions for the webhook's message, a hard
bound on length and nesting (hostile input cannot exhaust the stack), and one documented meaning.

Grammar (keywords are lower case; `#` positions count characters from 1)::

    expr       := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := operand [("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in") operand]
    operand    := NUMBER | STRING | "true" | "false" | NAME | "(" expr ")" | "[" [operand ("," operand)*] "]"
    NAME       := letter [A-Za-z0-9_]* ("." [A-Za-z0-9_-]+)+      e.g. params.day, tasks.check.outputs.rows
    STRING     := '…' or "…" (backslash escapes the quote and itself)
    NUMBER     := -?digits[.digits]

Values: a name's value is a string (parameters, run fields and task outputs are strings). A
comparison with a number on one side compares numbers (the other side must read as one); else
it compares strings (ISO dates compare correctly). `true`/`false` equal the strings "true" and
"false". `x in y`: membership when `y` is a list literal or a string holding a JSON list (an
output list), else substring. A bare name as a whole condition must be "true" or "false".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

MAX_EXPRESSION_LENGTH = 1024
MAX_DEPTH = 32
"""Deepest nesting of parentheses, `not` and lists: hostile input cannot exhaust the stack."""

_KEYWORDS = {"and", "or", "not", "in", "true", "false"}
_COMPARATORS = ("==", "!=", "<=", ">=", "<", ">")
_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<number>-?[0-9]+(?:\.[0-9]+)?(?![A-Za-z0-9_.]))
      | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*)
      | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,)
    """,
    re.VERBOSE,
)


class ExpressionError(ValueError):
    """A `when:` expression that does not parse; `position` counts characters from 1."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at position {position}")
        self.position = position
        self.reason = message


class EvaluationError(ValueError):
    """A parsed expression that cannot be evaluated with the values at hand (no value, not a number)."""


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, word, op, end
    text: str
    position: int  # from 1


@dataclass(frozen=True)
class Literal:
    value: str | float | bool
    position: int


@dataclass(frozen=True)
class Name:
    path: str
    position: int


@dataclass(frozen=True)
class ListOf:
    items: tuple[Node, ...]
    position: int


@dataclass(frozen=True)
class Not:
    operand: Node
    position: int


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    operands: tuple[Node, ...]
    position: int


@dataclass(frozen=True)
class Compare:
    op: str  # one of _COMPARATORS, "in", "not in"
    left: Node
    right: Node
    position: int


Node = Literal | Name | ListOf | Not | BoolOp | Compare


def tokenize(text: str) -> list[Token]:
    """The tokens of `text`, ending with an `end` token; raises `ExpressionError` on a stray character."""
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_EXPRESSION_LENGTH} characters", MAX_EXPRESSION_LENGTH + 1)
    tokens: list[Token] = []
    index = 0
    while index < len(text):
        match = _TOKEN.match(text, index)
        if match is None:
            raise ExpressionError(f"unexpected character {text[index]!r}", index + 1)
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(Token(kind, match.group(0), index + 1))
        index = match.end()
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    def peek(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at(self, text: str) -> bool:
        token = self.peek()
        return token.kind in ("word", "op") and token.text == text

    def expect(self, text: str) -> Token:
        token = self.peek()
        if not self.at(text):
            raise ExpressionError(f"expected '{text}', found {_describe(token)}", token.position)
        return self.take()

    def nested(self, position: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"nested deeper than {MAX_DEPTH} levels", position)

    def expression(self) -> Node:
        return self.boolean("or", self.conjunction)

    def conjunction(self) -> Node:
        return self.boolean("and", self.negation)

    def boolean(self, op: str, operand: Callable[[], Node]) -> Node:
        first = operand()
        operands = [first]
        while self.at(op):
            self.take()
            operands.append(operand())
        return first if len(operands) == 1 else BoolOp(op, tuple(operands), _position(first))

    def negation(self) -> Node:
        if self.at("not"):
            token = self.take()
            self.nested(token.position)
            operand = self.negation()
            self.depth -= 1
            return Not(operand, token.position)
        return self.comparison()

    def comparison(self) -> Node:
        left = self.operand()
        token = self.peek()
        if token.kind == "op" and token.text in _COMPARATORS:
            op = self.take().text
        elif self.at("in"):
            op = self.take().text
        elif self.at("not") and self.tokens[self.index + 1].text == "in":
            self.index += 2
            op = "not in"
        else:
            return left
        right = self.operand()
        following = self.peek()
        if following.kind == "op" and following.text in _COMPARATORS or following.text == "in":
            raise ExpressionError("comparisons do not chain; join them with 'and'", following.position)
        return Compare(op, left, right, token.position)

    def operand(self) -> Node:
        token = self.take()
        if token.kind == "number":
            return Literal(float(token.text), token.position)
        if token.kind == "string":
            return Literal(_unquote(token.text), token.position)
        if token.kind == "word":
            if token.text in ("true", "false"):
                return Literal(token.text == "true", token.position)
            if token.text in _KEYWORDS:
                raise ExpressionError(f"expected a value, found '{token.text}'", token.position)
            if "." not in token.text:
                raise ExpressionError(
                    f"unknown name '{token.text}' (names are dotted: params.NAME, run.FIELD, "
                    "workflow.name, tasks.TASK.outputs.KEY; strings are quoted)", token.position)
            return Name(token.text, token.position)
        if token.text == "(":
            self.nested(token.position)
            inner = self.expression()
            self.expect(")")
            self.depth -= 1
            return inner
        if token.text == "[":
            self.nested(token.position)
            items: list[Node] = []
            if not self.at("]"):
                items.append(self.operand())
                while self.at(","):
                    self.take()
                    items.append(self.operand())
            self.expect("]")
            self.depth -= 1
            return ListOf(tuple(items), token.position)
        raise ExpressionError(f"expected a value, found {_describe(token)}", token.position)


def parse_expression(text: str) -> Node:
    """The AST of a `when:` expression; raises `ExpressionError` naming the position."""
    tokens = tokenize(text)
    if tokens[0].kind == "end":
        raise ExpressionError("empty expression", 1)
    parser = _Parser(tokens)
    node = parser.expression()
    rest = parser.peek()
    if rest.kind != "end":
        raise ExpressionError(f"unexpected {_describe(rest)}", rest.position)
    return node


def names_in(node: Node) -> Iterator[Name]:
    """Every name the expression reads, in order."""
    if isinstance(node, Name):
        yield node
    elif isinstance(node, ListOf):
        for item in node.items:
            yield from names_in(item)
    elif isinstance(node, Not):
        yield from names_in(node.operand)
    elif isinstance(node, BoolOp):
        for operand in node.operands:
            yield from names_in(operand)
    elif isinstance(node, Compare):
        yield from names_in(node.left)
        yield from names_in(node.right)


def evaluate(node: Node, values: Mapping[str, str]) -> bool:
    """The truth of a parsed expression given the names' values; raises `EvaluationError`."""
    if isinstance(node, BoolOp):
        if node.op == "and":
            return all(evaluate(operand, values) for operand in node.operands)
        return any(evaluate(operand, values) for operand in node.operands)
    if isinstance(node, Not):
        return not evaluate(node.operand, values)
    if isinstance(node, Compare):
        return _compare(node, values)
    value = _value(node, values)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise EvaluationError(f"{_show(node)} is {_literal(value)}, not true or false")


def describe_values(node: Node, values: Mapping[str, str]) -> str:
    """`name='value'` for every name the expression reads (for a Skipped task's message)."""
    shown: dict[str, str] = {}
    for name in names_in(node):
        shown.setdefault(name.path, repr(values[name.path]) if name.path in values else "(no value)")
    return ", ".join(f"{k}={v}" for k, v in shown.items())


Value = str | float | bool | list["Value"]


def _value(node: Node, values: Mapping[str, str]) -> Value:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Name):
        if node.path not in values:
            raise EvaluationError(f"{node.path} has no value")
        return values[node.path]
    if isinstance(node, ListOf):
        return [_value(item, values) for item in node.items]
    return evaluate(node, values)


def _compare(node: Compare, values: Mapping[str, str]) -> bool:
    left, right = _value(node.left, values), _value(node.right, values)
    if node.op in ("in", "not in"):
        found = _contains(right, left, node)
        return found if node.op == "in" else not found
    if isinstance(left, list) or isinstance(right, list):
        raise EvaluationError(f"'{node.op}' cannot compare lists (position {node.position})")
    a, b = _comparable(left, right, node)
    if node.op == "==":
        return a == b
    if node.op == "!=":
        return a != b
    if node.op == "<":
        return a < b  # type: ignore[operator]
    if node.op == "<=":
        return a <= b  # type: ignore[operator]
    if node.op == ">":
        return a > b  # type: ignore[operator]
    return a >= b  # type: ignore[operator]


def _comparable(left: Value, right: Value, node: Compare) -> tuple[float, float] | tuple[str, str]:
    if isinstance(left, float) or isinstance(right, float):
        return _number(left, node.left), _number(right, node.right)
    return _text(left), _text(right)


def _number(value: Value, side: Node) -> float:
    if isinstance(value, float):
        return value
    try:
        return float(str(value))
    except ValueError:
        raise EvaluationError(f"{_show(side)} is {_literal(value)}, not a number") from None


def _text(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _contains(container: Value, item: Value, node: Compare) -> bool:
    if isinstance(container, str):
        try:
            parsed = json.loads(container)
        except ValueError:
            parsed = None
        if not isinstance(parsed, list):
            return _text(item) in container
        container = [v if isinstance(v, str) else json.dumps(v) for v in parsed]
    if not isinstance(container, list):
        raise EvaluationError(f"'in' needs a list or a string on its right (position {node.position})")
    for candidate in container:
        if isinstance(candidate, list):
            continue
        if isinstance(item, float) or isinstance(candidate, float):
            try:
                if _number(item, node.left) == _number(candidate, node.right):
                    return True
            except EvaluationError:
                continue
        elif _text(item) == _text(candidate):
            return True
    return False


def _position(node: Node) -> int:
    return node.position


def _show(node: Node) -> str:
    return node.path if isinstance(node, Name) else "the value"


def _literal(value: Value) -> str:
    return repr(value) if isinstance(value, str) else json.dumps(value)


def _describe(token: Token) -> str:
    return "the end" if token.kind == "end" else f"'{token.text}'"


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", r"\1", body)
