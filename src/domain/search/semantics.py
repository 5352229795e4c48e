"""What a comparison means, in one place; the in-memory store evaluates with it and the SQL translators
are tested against it.

- A number compares numerically, a string as text (by code point), a boolean as a boolean, a time as a
  time; values of different types are never equal, less or greater: the comparison is false.
- A missing key is null; every comparison with null is false, only `IS NULL` is true for it.
- `IN` is `=` to any value; `NOT IN` is `!=` to every value (so it is false for null and other types).
- `LIKE` is case-sensitive: `%` any run of characters, `_` one character, nothing else is special.
- Sorting puts numbers (and times) before strings before booleans; null, and objects or lists, last.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from domain.search.fields import FieldRef
from domain.search.tree import And, Compare, Expr, InList, IsNull, Like, Literal, LiteralType, Not, Op, Or

Lookup = Callable[[FieldRef], Any]

RANK_NUMBER, RANK_TEXT, RANK_BOOLEAN, RANK_NULL = 0, 1, 2, 9


def kind_of(value: Any) -> str | None:
    """The comparison class of a stored value; None for null and for what compares with nothing."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, datetime):
        return "time"
    if isinstance(value, UUID):
        return "id"
    return None


def _literal_value(literal: Literal) -> Any:
    return UUID(literal.value) if isinstance(literal.value, str) and literal.type is LiteralType.ID else literal.value


_OPS: dict[Op, Callable[[Any, Any], bool]] = {
    Op.EQ: lambda a, b: bool(a == b),
    Op.NE: lambda a, b: bool(a != b),
    Op.LT: lambda a, b: bool(a < b),
    Op.LE: lambda a, b: bool(a <= b),
    Op.GT: lambda a, b: bool(a > b),
    Op.GE: lambda a, b: bool(a >= b),
}


def compare(value: Any, op: Op, literal: Literal) -> bool:
    other = _literal_value(literal)
    kind = kind_of(value)
    if kind is None or kind != kind_of(other):
        return False
    return _OPS[op](value, other)


@cache
def like_regex(pattern: str) -> re.Pattern[str]:
    parts = (".*" if char == "%" else "." if char == "_" else re.escape(char) for char in pattern)
    return re.compile("".join(parts), re.DOTALL)


def matches(expr: Expr, lookup: Lookup) -> bool:
    if isinstance(expr, And):
        return all(matches(operand, lookup) for operand in expr.operands)
    if isinstance(expr, Or):
        return any(matches(operand, lookup) for operand in expr.operands)
    if isinstance(expr, Not):
        return not matches(expr.operand, lookup)
    value = lookup(expr.field)
    if isinstance(expr, Compare):
        return compare(value, expr.op, expr.literal)
    if isinstance(expr, InList):
        if expr.negated:
            return all(compare(value, Op.NE, literal) for literal in expr.literals)
        return any(compare(value, Op.EQ, literal) for literal in expr.literals)
    if isinstance(expr, Like):
        if not isinstance(value, str):
            return False
        return (like_regex(expr.pattern).fullmatch(value) is not None) != expr.negated
    assert isinstance(expr, IsNull)
    is_null = value is None
    return is_null != expr.negated


def rank(value: Any) -> int:
    kind = kind_of(value)
    if kind in ("number", "time", "id"):
        return RANK_NUMBER
    if kind == "text":
        return RANK_TEXT
    if kind == "boolean":
        return RANK_BOOLEAN
    return RANK_NULL
