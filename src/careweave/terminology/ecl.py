"""The subset of the SNOMED CT Expression Constraint Language that code lists use (OpenCodelists, ehrQL).

Supported, per the ECL specification (SNOMED International, ECL 2.x, "Brief syntax"):

- ``404684003`` the concept itself; ``< X`` its descendants; ``<< X`` it and its descendants;
- ``A OR B``, ``A AND B`` (also ``A , B``), ``A MINUS B``, and parentheses; a constraint operator
  may apply to a bracketed expression (``<< (A OR B)``);
- ``|term|`` after a concept id, which is a comment (ignored, as the specification says).

As in the specification, different binary operators cannot be mixed without parentheses
(``A OR B MINUS C`` is ambiguous: write ``(A OR B) MINUS C``), and MINUS takes exactly two operands.
Keywords are case-insensitive. Anything else (``>``, ``<!``, ``^``, refinements, wildcards) is
refused with its position rather than half-understood. Django-free.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

from .sctid import concept_id_problem

Operator = Literal["self", "descendants", "descendants_or_self"]


class EclError(ValueError):
    """A bad expression. ``position`` is the 1-based character where the problem starts."""

    def __init__(self, expression: str, position: int, message: str) -> None:
        self.expression = expression
        self.position = position
        self.message = message
        super().__init__(f"ECL: {message} at character {position} of {expression!r}")


class Hierarchy(Protocol):
    """What evaluation needs from a release (``SnomedRelease`` provides it)."""

    release_id: str

    def descendants(self, concept: str) -> frozenset[str]: ...

    def active(self, concepts: Iterable[str]) -> frozenset[str]: ...


@dataclass(frozen=True)
class Concept:
    id: str
    operator: Operator
    position: int


@dataclass(frozen=True)
class Nested:
    operator: Operator
    expression: Expression
    position: int


@dataclass(frozen=True)
class Compound:
    operator: Literal["OR", "AND", "MINUS"]
    operands: tuple[Expression, ...]


Expression = Concept | Nested | Compound


@dataclass(frozen=True)
class _Token:
    kind: str  # "<<", "<", "(", ")", "id", "OR", "AND", "MINUS", "end"
    text: str
    position: int  # 0-based


_UNSUPPORTED = {
    ">": "ancestors ('>' and '>>') are not supported",
    "!": "child-of and parent-of ('<!', '>!') are not supported",
    "^": "reference set membership ('^') is not supported",
    "*": "the wildcard '*' is not supported",
    ":": "refinements (':') are not supported",
    "{": "refinements ('{') are not supported",
    "[": "cardinality ('[') is not supported",
    "=": "refinements ('=') are not supported",
}
_KEYWORD = re.compile(r"(OR|AND|MINUS)\b", re.IGNORECASE)
_DIGITS = re.compile(r"[0-9]+")


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char.isspace():
            index += 1
        elif text.startswith("<<", index):
            if text.startswith("<<!", index):
                raise EclError(text, index + 1, _UNSUPPORTED["!"])
            tokens.append(_Token("<<", "<<", index))
            index += 2
        elif char == "<":
            if text.startswith("<!", index):
                raise EclError(text, index + 1, _UNSUPPORTED["!"])
            tokens.append(_Token("<", "<", index))
            index += 1
        elif char in "(),":
            tokens.append(_Token("AND" if char == "," else char, char, index))
            index += 1
        elif char == "|":
            end = text.find("|", index + 1)
            if end < 0:
                raise EclError(text, index + 1, "a term starting with '|' is not closed with '|'")
            if not tokens or tokens[-1].kind != "id":
                raise EclError(text, index + 1, "a |term| must follow a concept id")
            index = end + 1
        elif char.isdigit():
            match = _DIGITS.match(text, index)
            assert match is not None
            tokens.append(_Token("id", match.group(), index))
            index = match.end()
        elif (keyword := _KEYWORD.match(text, index)) is not None:
            tokens.append(_Token(keyword.group().upper(), keyword.group(), index))
            index = keyword.end()
        elif char in _UNSUPPORTED:
            raise EclError(text, index + 1, _UNSUPPORTED[char])
        else:
            raise EclError(text, index + 1, f"unexpected {char!r}")
    tokens.append(_Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def fail(self, token: _Token, message: str) -> EclError:
        return EclError(self.text, token.position + 1, message)

    def expression(self) -> Expression:
        first = self.sub()
        token = self.peek()
        if token.kind not in ("OR", "AND", "MINUS"):
            return first
        operator = token.kind
        operands = [first]
        while self.peek().kind == operator:
            self.take()
            operands.append(self.sub())
            if operator == "MINUS":
                break
        after = self.peek()
        if after.kind in ("OR", "AND", "MINUS"):
            raise self.fail(
                after,
                f"{after.kind} after {operator} needs parentheses to say which comes first, "
                f"e.g. (A {operator} B) {after.kind} C",
            )
        return Compound(operator, tuple(operands))  # type: ignore[arg-type]  # operator is one of the three

    def sub(self) -> Expression:
        token = self.take()
        operator: Operator = "self"
        if token.kind in ("<<", "<"):
            operator = "descendants_or_self" if token.kind == "<<" else "descendants"
            start = token
            token = self.take()
            if token.kind in ("<<", "<"):
                raise self.fail(token, "two constraint operators in a row")
        else:
            start = token
        if token.kind == "(":
            inner = self.expression()
            close = self.take()
            if close.kind != ")":
                raise self.fail(close, "expected ')'" if close.kind != "end" else "missing ')'")
            if operator == "self":
                return inner
            return Nested(operator, inner, start.position + 1)
        if token.kind == "id":
            problem = concept_id_problem(token.text)
            if problem:
                raise self.fail(token, f"{token.text} is {problem}")
            return Concept(token.text, operator, token.position + 1)
        if token.kind == "end":
            raise self.fail(token, "expected a concept id or '(' but the expression ended")
        raise self.fail(token, f"expected a concept id or '(', found {token.text!r}")


def parse(text: str) -> Expression:
    """Parse ``text``; raises ``EclError`` naming the position of the first problem."""
    if not text.strip():
        raise EclError(text, 1, "empty expression")
    parser = _Parser(text)
    expression = parser.expression()
    rest = parser.peek()
    if rest.kind != "end":
        raise parser.fail(rest, f"unexpected {rest.text!r} after a complete expression")
    return expression


def concepts_in(expression: Expression) -> tuple[Concept, ...]:
    """Every concept the expression names, in order."""
    if isinstance(expression, Concept):
        return (expression,)
    if isinstance(expression, Nested):
        return concepts_in(expression.expression)
    return tuple(c for operand in expression.operands for c in concepts_in(operand))


def _apply(operator: Operator, members: frozenset[str], hierarchy: Hierarchy) -> frozenset[str]:
    if operator == "self":
        return members
    below: set[str] = set()
    for member in members:
        below |= hierarchy.descendants(member)
    return frozenset(below | members) if operator == "descendants_or_self" else frozenset(below)


def _evaluate(expression: Expression, hierarchy: Hierarchy) -> frozenset[str]:
    if isinstance(expression, Concept):
        return _apply(expression.operator, frozenset({expression.id}), hierarchy)
    if isinstance(expression, Nested):
        return _apply(expression.operator, _evaluate(expression.expression, hierarchy), hierarchy)
    values = [_evaluate(operand, hierarchy) for operand in expression.operands]
    if expression.operator == "OR":
        return frozenset().union(*values)
    if expression.operator == "AND":
        return frozenset.intersection(*values)
    return values[0] - values[1]


def evaluate(text: str, hierarchy: Hierarchy) -> frozenset[str]:
    """The concept ids ``text`` denotes in ``hierarchy``'s release.

    Every named concept must be active in the release: a list naming a concept the release has
    retired (or never had) is a list to review, not one to expand silently to nothing."""
    expression = parse(text)
    named = concepts_in(expression)
    present = hierarchy.active(c.id for c in named)
    for concept in named:
        if concept.id not in present:
            raise EclError(
                text,
                concept.position,
                f"concept {concept.id} is not an active concept in SNOMED CT release {hierarchy.release_id}",
            )
    return _evaluate(expression, hierarchy)
