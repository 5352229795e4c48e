"""The id sets of an ids-first search: each indexed condition of a filter as the ids that meet it.

A numeric range over a side table (metric or hyperparameter values, migrations 0013 and 0015) is one range
of its (key, value, id) index; a status is one range of the owner's (status, id) index. Both read ids only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Double, Select, String, Table, bindparam, select

from domain.search.tree import Literal, Op

Condition = ColumnElement[bool]

COMPARE: dict[Op, Callable[[Any, Any], Condition]] = {
    Op.EQ: lambda a, b: a == b,
    Op.NE: lambda a, b: a != b,
    Op.LT: lambda a, b: a < b,
    Op.LE: lambda a, b: a <= b,
    Op.GT: lambda a, b: a > b,
    Op.GE: lambda a, b: a >= b,
}


@dataclass(frozen=True, slots=True)
class SideRange:
    """`key op number` over a side table (metric or hyperparameter values)."""

    table: Table
    key: str
    op: Op
    literal: Literal

    def conditions(self, values: Any) -> list[Condition]:
        """The range over `values`, an alias of the side table: its key, and its value compared."""
        return [self.key_is(values), self.holds(values)]

    def key_is(self, values: Any) -> Condition:
        is_key: Condition = values.c.key == bindparam(None, self.key, type_=String)
        return is_key

    def holds(self, values: Any) -> Condition:
        return COMPARE[self.op](values.c.value, bindparam(None, self.literal.value, type_=Double))


@dataclass(frozen=True, slots=True)
class IdSet:
    """One indexed condition of a narrowing: a table's alias, the name of its id column and the conditions
    on it; `range` is set for a side table's range (None: the owner's status)."""

    alias: Any
    ident: str
    conditions: list[Condition]
    range: SideRange | None = None


def intersected(sets: list[IdSet]) -> Select[Any]:
    """The ids in every set. Joined on the id rather than INTERSECTed: the planner estimates a join from
    each side's statistics and hashes the smaller sides."""
    first = sets[0]
    narrowed = select(first.alias.c[first.ident]).select_from(first.alias)
    for other in sets[1:]:
        narrowed = narrowed.join(other.alias, other.alias.c[other.ident] == first.alias.c[first.ident])
    return narrowed.where(*(condition for one in sets for condition in one.conditions))
