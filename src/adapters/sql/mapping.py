"""Rows to domain objects and back by name: a table's columns are listed once (`tables.py`), an
entity's fields once (its dataclass). Nothing here names a field.

Reading is lenient on purpose, like the hand-written copies it replaces: stored names were validated on
the way in (or written by a desktop) and are trusted; JSON columns are copied, never re-validated.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import operator
import types
import typing
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import Row, Table

from domain.values import MeasurementName, Slug

E = TypeVar("E")
Convert = Callable[[Any], Any]


def row_values(table: Table, entity: object, **extra: Any) -> dict[str, Any]:
    """`table`'s column values taken from `entity`'s same-named attributes (properties too), in column
    order; `extra` gives the columns the entity does not carry (a parent's key)."""
    values: dict[str, Any] = {}
    for column in table.c:
        if column.name in extra:
            values[column.name] = extra[column.name]
        elif hasattr(entity, column.name):
            values[column.name] = plain(getattr(entity, column.name))
    return values


def entity(cls: type[E], row: Mapping[Any, Any] | Row[Any], **extra: Any) -> E:
    """A `cls` from the same-named keys of `row` (a `Row`, its `_mapping` or an asyncpg Record); a field
    the row lacks keeps its default unless `extra` gives it."""
    columns: tuple[Any, ...] = row._fields if isinstance(row, Row) else ()
    if len(columns) == len(row):  # a Row's names and values as tuples directly: a list page maps every row
        values = tuple(row)
    else:
        columns, values = tuple(row.keys()), tuple(row.values())
    plan = _row_plan(cls, columns, tuple(extra))
    kwargs = dict(zip(plan.names, plan.take(values), strict=True)) if plan.names else {}
    for name, index, convert in plan.converted:
        kwargs[name] = convert(values[index])
    kwargs.update(extra)
    return cls(**kwargs)


@dataclasses.dataclass(frozen=True, slots=True)
class _RowPlan:
    names: tuple[str, ...]  # fields taken as they are...
    take: Callable[[tuple[Any, ...]], tuple[Any, ...]]  # ...from these places of the row
    converted: tuple[tuple[str, int, Convert], ...]  # fields whose value needs converting


_ROW_PLANS: dict[tuple[type[Any], tuple[Any, ...], tuple[str, ...]], _RowPlan] = {}


def _row_plan(cls: type[Any], columns: tuple[Any, ...], given: tuple[str, ...]) -> _RowPlan:
    """Where each field of `cls` sits in rows of these columns, once per query shape: asking a row for
    each field by name was most of what a list page spent on mapping."""
    key = (cls, columns, given)
    plan = _ROW_PLANS.get(key)
    if plan is None:
        where = {name: index for index, name in reversed(list(enumerate(columns)))}
        wanted = [(name, convert) for name, convert in _plan(cls) if name in where and name not in given]
        plain = [(name, where[name]) for name, convert in wanted if convert is None]
        places = [index for _, index in plain]
        plan = _RowPlan(
            tuple(name for name, _ in plain),
            operator.itemgetter(*places) if len(places) > 1 else lambda values: tuple(values[i] for i in places),
            tuple((name, where[name], convert) for name, convert in wanted if convert is not None),
        )
        _ROW_PLANS[key] = plan
    return plan


def columns_of(table: Table, cls: type[Any]) -> tuple[str, ...]:
    """The columns of `table` that `cls` has a field for, in column order."""
    names = {field.name for field in dataclasses.fields(cls)}
    return tuple(column.name for column in table.c if column.name in names)


def plain(value: Any) -> Any:
    # Drivers are given plain values: an enum's value, a validated name as the str it is.
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, str) and type(value) is not str:
        return str(value)
    return value


_PLANS: dict[type[Any], tuple[tuple[str, Convert | None], ...]] = {}


def _plan(cls: type[Any]) -> tuple[tuple[str, Convert | None], ...]:
    """Each init field of `cls` with the conversion its type needs (None: the value is taken as is)."""
    plan = _PLANS.get(cls)
    if plan is None:
        hints = typing.get_type_hints(cls)
        plan = tuple((f.name, _converter(hints[f.name])) for f in dataclasses.fields(cls) if f.init)
        _PLANS[cls] = plan
    return plan


def _converter(hint: Any) -> Convert | None:
    args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        inner = _converter(args[0]) if len(args) == 1 else None
        return None if inner is None else _or_none(inner)
    origin = typing.get_origin(hint) or hint
    if origin in (Slug, MeasurementName):
        return functools.partial(str.__new__, origin)  # trusted: see the module docstring
    if isinstance(origin, type) and issubclass(origin, enum.Enum):
        return origin
    if origin is dict:
        return _dict
    if origin is list:
        return _list
    if origin is datetime:
        return _utc
    if origin is UUID:
        return _uuid
    if origin is bool:
        return bool
    return None


def _or_none(convert: Convert) -> Convert:
    return lambda value: None if value is None else convert(value)


def _dict(value: Any) -> dict[Any, Any]:
    return dict(value or {})


def _list(value: Any) -> list[Any]:
    return list(value or [])


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _uuid(value: Any) -> UUID:
    # asyncpg hands back its own UUID type; the domain compares with the standard one.
    return value if isinstance(value, UUID) else UUID(str(value))
