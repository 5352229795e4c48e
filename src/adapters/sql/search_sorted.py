"""A search sorted first by a summary metric, served by the metric's side table (migration 0013).

The sort puts numbers first, so the sorted result is two runs of rows: those whose metric is a number,
in the order of its value, then all the others in the general order. The first run is read through the
(key, value, id) index of the side table (joined on the metric), which hands rows over already sorted, so
the store reads about one page of matches instead of sorting every match; a cursor inside it is a range
bound on that index, so a deep page costs what page 1 costs. Only when the numbers run out on this page
is the general statement asked for the rest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import Row, Select, Table, and_, bindparam, func

from adapters.sql.search_filters import Condition, Sql, Translator
from adapters.sql.search_walk import walk_filter
from domain.search.fields import FieldRef
from domain.search.query import SearchQuery
from domain.search.semantics import RANK_NUMBER
from domain.search.tree import Expr

Rows = Callable[[Any], Awaitable[Sequence[Row[Any]]]]


def sorted_metric(query: SearchQuery) -> FieldRef | None:
    """The `metrics.<key>` field the search sorts by first, if it does."""
    if not query.order:
        return None
    field = query.order[0].field
    return field if len(field.path) == 2 and field.path[0] == "summary_metrics" else None


async def metric_first_rows(
    query: SearchQuery,
    statement: Select[Any],
    translator: Translator,
    side: Table,
    created: Sql,
    ident: Sql,
    rows_of: Rows,
) -> Sequence[Row[Any]]:
    """Rows offset..offset+limit (and one more) of the search, metric numbers first, then the rest."""
    field = sorted_metric(query)
    assert field is not None
    wanted = query.limit + 1
    position = query.after
    found: list[Row[Any]] = []
    offset = query.offset
    if position is None or position.keys[0][0] == RANK_NUMBER:
        metric = side.alias("search_metric")
        value = metric.c.value
        numbers = translator.numeric(field, value)
        joined = statement.join(
            metric,
            and_(metric.c[str(ident.key)] == ident, metric.c.key == bindparam(None, field.path[1])),
        )
        walk = None
        if translator.postgres:
            walk = await walk_filter(query, numbers, metric, field.path[1], metric.c[str(ident.key)], rows_of)
        numeric = filtered(joined, numbers, query, created, ident, walk)
        first = query.order[0]
        order: list[Any] = [value.desc() if first.descending else value.asc()]
        order += ordering(numbers, query, created, ident, skip_first=True)
        found = list(await rows_of(numeric.order_by(*order).limit(wanted).offset(offset)))
        if len(found) == wanted:
            return found
        if found or not offset:
            offset = 0
        else:  # the page starts beyond the numbers: skip those the offset has already passed
            counted = numeric.with_only_columns(func.count()).order_by(None)
            offset -= int((await rows_of(counted))[0][0])
    rest = filtered(statement.where(translator.not_a_number(field)), translator, query, created, ident)
    ordered = rest.order_by(*ordering(translator, query, created, ident)).limit(wanted - len(found))
    return found + list(await rows_of(ordered.offset(offset) if offset else ordered))


def filtered(
    statement: Select[Any],
    translator: Translator,
    query: SearchQuery,
    created: Sql,
    ident: Sql,
    narrowed: tuple[Condition, Expr | None] | None = None,
) -> Select[Any]:
    """`statement` with the query's filter and cursor; `narrowed`: the filter as (a condition, the rest),
    decided already (`search_walk`)."""
    if query.filter is not None:
        narrowing = narrowed or translator.narrowing(query.filter)
        if narrowing is None:
            statement = statement.where(translator.where(query.filter))
        else:  # the id sets stand for the conditions they cover
            covered, rest = narrowing
            statement = statement.where(covered) if rest is None else statement.where(covered, translator.where(rest))
    if query.after is not None:
        keys = [(key.field, key.descending) for key in query.order]
        statement = statement.where(translator.after(keys, query.after, created, ident))
    return statement


def ordering(
    translator: Translator, query: SearchQuery, created: Sql, ident: Sql, skip_first: bool = False
) -> list[Any]:
    order: list[Any] = []
    for key in query.order[1:] if skip_first else query.order:
        order.append(translator.rank(key.field))
        order.extend(value.desc() if key.descending else value.asc() for value in translator.sort_values(key.field))
    return [*order, created.desc(), ident.desc()]
