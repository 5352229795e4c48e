"""Writes an expression back as text that parses to the same tree (cursors and logs carry it)."""

from __future__ import annotations

from datetime import datetime

from domain.search.tree import And, Compare, Expr, InList, Like, Literal, Not, Or


def to_text(expr: Expr) -> str:
    if isinstance(expr, Or):
        return " OR ".join(_grouped(operand, Or) for operand in expr.operands)
    if isinstance(expr, And):
        return " AND ".join(_grouped(operand, And | Or) for operand in expr.operands)
    if isinstance(expr, Not):
        return "NOT " + _grouped(expr.operand, And | Or)
    if isinstance(expr, Compare):
        return f"{expr.field.name} {expr.op.value} {literal_text(expr.literal)}"
    if isinstance(expr, InList):
        values = ", ".join(literal_text(literal) for literal in expr.literals)
        return f"{expr.field.name} {'NOT IN' if expr.negated else 'IN'} ({values})"
    if isinstance(expr, Like):
        return f"{expr.field.name} {'NOT LIKE' if expr.negated else 'LIKE'} {_quoted(expr.pattern)}"
    return f"{expr.field.name} IS {'NOT NULL' if expr.negated else 'NULL'}"


def _grouped(expr: Expr, needs_parentheses: type | object) -> str:
    # A nested AND inside AND keeps its parentheses so the printed text rebuilds the very same tree.
    text = to_text(expr)
    return f"({text})" if isinstance(expr, needs_parentheses) else text  # type: ignore[arg-type]


def literal_text(literal: Literal) -> str:
    value = literal.value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return _quoted(value.isoformat())
    return _quoted(value)


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
