"""A search sorted by a metric and narrowed by hyperparameter ranges and status, walked in the sort's order
(Postgres; issue #12).

The ids-first narrowing (`Translator.narrowing`) joins every indexed condition's id set and then sorts
all matches. When one of those sets is large (`metrics.max_drawdown > -0.2`: half of all runs), building
it costs more than the rest of the search. A walk instead reads the sort metric's (key, value, id) index
in order and keeps an entry only if its id is in the hashed set of the selective conditions (the
hyperparameter ranges and the status); the other conditions are checked for the entries that pass, and
the walk stops after one page. Postgres can cost neither choice well (it costs a hashed set's filter at
a fixed guess), so the planner's estimates decide here: the walk is taken only when its set is small
enough to build cheaply and matches often enough that one page is found early in the index.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    ClauseElement,
    CompoundSelect,
    Executable,
    Row,
    Select,
    bindparam,
    literal_column,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import NamedFromClause

from adapters.sql.search_filters import Condition, Sql, Translator
from domain.search.query import SearchQuery
from domain.search.tree import Expr

Rows = Callable[[Any], Awaitable[Sequence[Row[Any]]]]

# The walk's set is built whole before the first index entry is read: past this many ids that costs more
# than the general plan, which probes each entry's conditions in the sort's order instead.
SET_MAX = 5_000
# Index entries a walk may expect to read for its page; beyond that a sort of the set's matches is cheaper.
WALK_MAX = 10_000
# The planner's estimates of a filter, kept for a minute: asking costs a round trip, and a client paging
# through a search asks the same again. One from a while ago (or another database) can only choose the
# slower plan, never other rows.
ESTIMATE_SECONDS = 60.0
ESTIMATES_KEPT = 512
_estimates: dict[tuple[Expr, str], tuple[float, float, float]] = {}  # -> (ids in the set, in the index, when)


class PlanRows(Executable, ClauseElement):
    """`EXPLAIN (FORMAT JSON)` of a statement: the planner's row estimates, the statement is not run."""

    inherit_cache = False

    def __init__(self, statement: Select[Any] | CompoundSelect[Any]) -> None:
        self.statement = statement


@compiles(PlanRows, "postgresql")
def _explain(element: PlanRows, compiler: SQLCompiler, **kw: Any) -> str:
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.statement, **kw)


async def walk_filter(
    query: SearchQuery, translator: Translator, metric: NamedFromClause, metric_key: str, ident: Sql, rows_of: Rows
) -> tuple[Condition, Expr | None] | None:
    """The filter as (the walk's set condition on the metric's id, the rest), when a walk pays off; else None.

    `metric` is the sort metric's side table alias joined to the search, `ident` its id column."""
    if query.filter is None:
        return None
    found = translator.id_set(query.filter)
    if found is None:
        return None
    narrowed, rest = found
    key = (query.filter, metric_key)
    known = _estimates.get(key)
    if known is None or time.monotonic() - known[2] > ESTIMATE_SECONDS:
        walked = select(metric.c[str(ident.key)]).where(metric.c.key == bindparam(None, metric_key))
        plan = (await rows_of(PlanRows(narrowed.union_all(walked))))[0][0]
        branches = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]["Plans"]
        in_set, in_index = (max(1.0, float(branch["Plan Rows"])) for branch in branches)
        known = (in_set, in_index, time.monotonic())
        if len(_estimates) >= ESTIMATES_KEPT:
            del _estimates[next(iter(_estimates))]  # the oldest
        _estimates[key] = known
    in_set, in_index, _when = known
    wanted = query.offset + query.limit + 1
    if in_set > SET_MAX or wanted * in_index / in_set > WALK_MAX:
        return None
    # Under OR the planner keeps `IN` as a hashed set probed by each index entry; a bare `IN` would become
    # a join, whose hashed form forgets the index order, so the walk could no longer stop after one page.
    hashed = or_(ident.in_(narrowed), literal_column("false", Boolean))
    return hashed, rest
