"""The search evaluated over records in memory: the reference meaning the SQL stores are tested against."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cmp_to_key
from typing import Any, TypeVar

from domain.search import semantics
from domain.search.query import Found, SearchQuery, SortPosition, encode_cursor
from domain.search.records import RunRecord, SimulationRecord

R = TypeVar("R", RunRecord, SimulationRecord)


def position_of(record: RunRecord | SimulationRecord, query: SearchQuery) -> SortPosition:
    keys = []
    for key in query.order:
        value = record.value(key.field)
        rank = semantics.rank(value)
        keys.append((rank, None if rank == semantics.RANK_NULL else value))
    return SortPosition(tuple(keys), record.created_at, record.ident)


def compare_positions(a: SortPosition, b: SortPosition, query: SearchQuery) -> int:
    """Negative when `a` comes first: each key in its direction with nulls last, then newest, then id."""
    for key, (rank_a, value_a), (rank_b, value_b) in zip(query.order, a.keys, b.keys, strict=True):
        if rank_a != rank_b:
            return -1 if rank_a < rank_b else 1
        if rank_a == semantics.RANK_NULL or value_a == value_b:
            continue
        before = value_a < value_b
        return (1 if before else -1) if key.descending else (-1 if before else 1)
    if a.created_at != b.created_at:
        return -1 if a.created_at > b.created_at else 1
    if a.ident != b.ident:
        return -1 if a.ident > b.ident else 1
    return 0


def search(records: Iterable[R], query: SearchQuery) -> Found[R]:
    chosen = [r for r in records if query.filter is None or semantics.matches(query.filter, r.value)]
    total = len(chosen) if query.count else None
    keyed = [(position_of(record, query), record) for record in chosen]
    order: Any = cmp_to_key(lambda x, y: compare_positions(x[0], y[0], query))
    keyed.sort(key=order)
    if query.after is not None:
        after = query.after
        keyed = [pair for pair in keyed if compare_positions(pair[0], after, query) > 0]
    window = keyed[query.offset : query.offset + query.limit + 1]
    kept = window[: query.limit]
    next_cursor = encode_cursor(kept[-1][0], query) if len(window) > query.limit and kept else None
    return Found([record for _, record in kept], total, query.limit, query.offset, next_cursor)
