"""The parsed expression: small frozen nodes that every evaluator (SQL, in memory) walks the same way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.search.fields import FieldRef


class LiteralType(StrEnum):
    NUMBER = "number"
    TEXT = "text"
    BOOLEAN = "boolean"
    NULL = "null"
    TIME = "time"  # a string compared with an `_at` field, read as ISO-8601
    ID = "id"  # a string compared with an id field, read as a UUID


Scalar = int | float | str | bool | datetime | None


@dataclass(frozen=True, slots=True)
class Literal:
    type: LiteralType
    value: Scalar


class Op(StrEnum):
    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="


@dataclass(frozen=True, slots=True)
class Compare:
    field: FieldRef
    op: Op
    literal: Literal


@dataclass(frozen=True, slots=True)
class InList:
    """`field IN (...)` is `=` to any of them; `NOT IN` is `!=` to all of them."""

    field: FieldRef
    literals: tuple[Literal, ...]
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Like:
    field: FieldRef
    pattern: str
    negated: bool = False


@dataclass(frozen=True, slots=True)
class IsNull:
    field: FieldRef
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Expr, ...]


Predicate = Compare | InList | Like | IsNull
Expr = Compare | InList | Like | IsNull | Not | And | Or


def fields_of(expr: Expr) -> set[FieldRef]:
    """Every field the expression reads (adapters join what these need)."""
    if isinstance(expr, Not):
        return fields_of(expr.operand)
    if isinstance(expr, And | Or):
        return set().union(*(fields_of(operand) for operand in expr.operands))
    return {expr.field}
