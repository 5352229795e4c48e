"""Search over runs and simulations in SQL: the tree from `search_filters`, sorted and paged by keyset."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from functools import cache
from typing import Any

from sqlalchemy import Row, Select, String, Table, cast, func, null, select
from sqlalchemy.sql.selectable import NamedFromClause

from adapters.sql import tables as t
from adapters.sql.mapping import entity
from adapters.sql.repositories import SqlRepository
from adapters.sql.runs import _run
from adapters.sql.search_filters import JsonKey, MetricValues, Sql, Translator
from adapters.sql.search_sorted import filtered, metric_first_rows, ordering, sorted_metric
from adapters.sql.versions import stale_condition
from domain.search.fields import FieldRef
from domain.search.memory import position_of
from domain.search.query import Found, SearchQuery, encode_cursor
from domain.search.records import DatasetFacts, RunRecord, SimulationRecord
from domain.simulations import Simulation, TradeBucket

STALE = ("stale",)


class _Search(SqlRepository):
    @staticmethod
    def _source(table: Any, field: FieldRef, offset: int = 0) -> Sql | JsonKey:
        name, rest = field.path[offset], field.path[offset + 1 :]
        # A column a later migration adds reads as null until it exists.
        column = table.c.get(name)
        if rest:
            return JsonKey(column, rest[0])
        return cast(null(), String) if column is None else column

    async def _page(
        self,
        query: SearchQuery,
        statement: Select[Any],
        translator: Translator,
        created: Sql,
        ident: Sql,
        to_record: Callable[[Sequence[Row[Any]]], Awaitable[list[Any]]],
        metric_values: Table,
    ) -> Found[Any]:
        total = None
        if query.count:
            counted = filtered(statement, translator, replace(query, after=None), created, ident)
            total = int(await self._scalar(counted.with_only_columns(func.count()).order_by(None)))
        if sorted_metric(query) is not None:
            rows = await metric_first_rows(query, statement, translator, metric_values, created, ident, self._rows)
        else:
            statement = filtered(statement, translator, query, created, ident)
            statement = statement.order_by(*ordering(translator, query, created, ident)).limit(query.limit + 1)
            rows = await self._rows(statement.offset(query.offset) if query.offset else statement)
        records = await to_record(rows[: query.limit])
        more = len(rows) > query.limit
        next_cursor = encode_cursor(position_of(records[-1], query), query) if more and records else None
        return Found(records, total, query.limit, query.offset, next_cursor)


def _facts(row: Row[Any]) -> DatasetFacts:
    return DatasetFacts(row.search_dataset_slug, row.search_dataset_symbol, row.search_dataset_granularity)


def _dataset_columns(dataset: Any) -> list[Any]:
    return [
        dataset.c.dataset_slug.label("search_dataset_slug"),
        dataset.c.symbol.label("search_dataset_symbol"),
        dataset.c.granularity.label("search_dataset_granularity"),
    ]


# The statements every search starts from are built once: their aliases and the `stale` subquery cost
# about a millisecond of Python per request to build again, and a statement is immutable.
@cache
def _run_statement() -> tuple[Select[Any], NamedFromClause]:
    runs, dataset = t.runs, t.datasets.alias("search_dataset")
    # `stale` is read along (the cursor of a page sorted by it needs each row's value).
    statement = select(runs, stale_condition(runs).label("stale"), *_dataset_columns(dataset)).select_from(
        runs.outerjoin(dataset, dataset.c.dataset_id == runs.c.dataset_id)
    )
    return statement, dataset


@cache
def _simulation_statement() -> tuple[Select[Any], NamedFromClause, NamedFromClause]:
    sims, dataset, run = t.simulations, t.datasets.alias("search_dataset"), t.runs.alias("search_run")
    statement = select(
        sims,
        stale_condition(sims).label("stale"),
        *_dataset_columns(dataset),
        run.c.summary_metrics.label("search_run_metrics"),
        run.c.hyperparameters.label("search_run_params"),
    ).select_from(
        sims.outerjoin(dataset, dataset.c.dataset_id == sims.c.dataset_id).outerjoin(run, run.c.run_id == sims.c.run_id)
    )
    return statement, dataset, run


class SqlRunSearch(_Search):
    async def search(self, query: SearchQuery) -> Found[RunRecord]:
        runs = t.runs
        statement, dataset = _run_statement()

        def resolve(field: FieldRef) -> Sql | JsonKey:
            if field.path[0] == "dataset":
                return dataset.c[{"slug": "dataset_slug"}.get(field.path[1], field.path[1])]
            if field.path == STALE:
                return stale_condition(runs)
            return self._source(runs, field)

        async def to_records(rows: Sequence[Row[Any]]) -> list[RunRecord]:
            return [RunRecord(_run(row, []), _facts(row)) for row in rows]

        metrics = MetricValues(runs.c.summary_metrics, t.run_metric_values, runs.c.run_id)
        params = MetricValues(runs.c.hyperparameters, t.run_param_values, runs.c.run_id, narrows=True)
        translator = Translator(self._dialect, resolve, (metrics, params))
        return await self._page(
            query, statement, translator, runs.c.created_at, runs.c.run_id, to_records, t.run_metric_values
        )


class SqlSimulationSearch(_Search):
    async def search(self, query: SearchQuery) -> Found[SimulationRecord]:
        sims, buckets = t.simulations, t.trade_buckets
        statement, dataset, run = _simulation_statement()

        def resolve(field: FieldRef) -> Sql | JsonKey:
            head = field.path[0]
            if head == "dataset":
                return dataset.c[{"slug": "dataset_slug"}.get(field.path[1], field.path[1])]
            if head == "run" and len(field.path) == 3:
                return self._source(run, field, offset=1)
            if field.path == STALE:
                return stale_condition(sims)
            if head == "buckets":
                column = buckets.c[field.path[2]]
                return (
                    select(column)
                    .where(buckets.c.simulation_id == sims.c.simulation_id, buckets.c.bucket == field.path[1])
                    .scalar_subquery()
                )
            return self._source(sims, field)

        async def to_records(rows: Sequence[Row[Any]]) -> list[SimulationRecord]:
            ids = [row.simulation_id for row in rows]
            found: dict[Any, list[TradeBucket]] = {}
            if ids:
                bucket_rows = await self._rows(
                    select(buckets).where(buckets.c.simulation_id.in_(ids)).order_by(buckets.c.bucket)
                )
                for bucket_row in bucket_rows:
                    found.setdefault(bucket_row.simulation_id, []).append(entity(TradeBucket, bucket_row._mapping))
            return [
                SimulationRecord(
                    entity(Simulation, row._mapping, trade_buckets=found.get(row.simulation_id, [])),
                    _facts(row),
                    dict(row.search_run_metrics or {}),
                    dict(row.search_run_params or {}),
                )
                for row in rows
            ]

        created, ident = sims.c.created_at, sims.c.simulation_id
        side = MetricValues(sims.c.summary_metrics, t.simulation_metric_values, ident)
        translator = Translator(self._dialect, resolve, (side,))
        return await self._page(query, statement, translator, created, ident, to_records, t.simulation_metric_values)
