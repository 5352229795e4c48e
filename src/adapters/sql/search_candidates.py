"""The page of a narrowed search sorted by a metric, picked among candidate ids before any wide row is read.

A filter that narrows (`Translator.id_sets`: a hyperparameter range ANDed with a status or other ranges)
is answered on Postgres in two steps inside one statement:

1. The candidates: the intersected id sets (index-only scans of (status, id) and (key, value, id)).
   A range over the metric the search sorts by's side table is not one of them when two other sets
   remain: their intersection is a small fraction of either, and each candidate's metric rows are read
   anyway for the sort value (one descent of the (id, key) primary key reads them all), so the range is
   checked there instead of scanning every index entry it matches (50,000 of 100,000 for a typical
   `metrics.max_drawdown > -0.2`).
2. The page: candidates by the sort metric's value, the first `wanted` of them and every one tied with
   the last (FETCH ... WITH TIES), so the exact order (value, the other keys, created_at, id) is settled
   afterwards over the wide rows of those ids only, instead of reading and sorting a wide row per match.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, String, Table, and_, bindparam, func, select, true

from adapters.sql.search_filters import Translator
from adapters.sql.search_ids import IdSet, intersected
from domain.search.query import SearchQuery

# The most candidates looked up one by one: 5,000 lookups cost about what the general statement costs.
CANDIDATES = 5_000


def candidate_page(translator: Translator, query: SearchQuery, side: Table, wanted: int) -> Select[Any] | None:
    """The ids of the first `wanted` matches by the sort metric (numbers only) and all tied with the last,
    or None when the search is not narrowed this way (then the general statement answers). No ids when
    there are more than CANDIDATES candidates: an empty page is always asked again the general way."""
    if not translator.postgres or query.filter is None or query.after is not None:
        return None
    found = translator.id_sets(query.filter)
    if found is None or found[1] is not None:
        return None
    kept: list[IdSet] = []
    checked: list[IdSet] = []
    for one in found[0]:
        (checked if one.range is not None and one.range.table is side else kept).append(one)
    if len(kept) < 2:
        kept, checked = found[0], []
    name = kept[0].ident
    # At most CANDIDATES + 1 are read; beyond CANDIDATES the lookups are skipped (a one-time filter) and
    # the page is empty, so the caller asks the general statement (its planner walks the sort metric's index,
    # which suits an unselective filter far better than a lookup per candidate).
    candidates = intersected(kept).limit(CANDIDATES + 1).cte("search_candidates")
    few = select(func.count()).select_from(candidates).scalar_subquery() <= CANDIDATES
    values = side.alias("search_candidate_values")
    first = query.order[0]
    sort_key = bindparam(None, first.field.path[1], type_=String)
    columns = [func.max(values.c.value).filter(values.c.key == sort_key).label("value")]
    for n, one in enumerate(checked):
        assert one.range is not None
        columns.append(func.bool_or(and_(*one.range.conditions(values))).label(f"check_{n}"))
    # LATERAL with an aggregate: one lookup per candidate, never a scan of the side table.
    lookup = select(*columns).where(values.c[name] == candidates.c[name]).lateral("search_candidate_lookup")
    value = lookup.c.value
    return (
        select(candidates.c[name])
        .select_from(candidates.join(lookup, true()))
        .where(few, value.is_not(None), *(lookup.c[f"check_{n}"] for n in range(len(checked))))
        .order_by(value.desc() if first.descending else value.asc())
        .fetch(wanted, with_ties=True)
    )
