"""`walkforward_runs` with their `walkforward_folds`; lists carry no folds, only `fold_count`."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Row, delete, or_, select

from adapters.sql import tables as t
from adapters.sql.mapping import entity, row_values
from adapters.sql.repositories import SqlRepository, contains, equal_where_given
from application.ports import RunFilter
from domain.paging import Page, PageRequest
from domain.runs import Fold, WalkforwardRun


def _run(row: Row[Any], folds: list[Fold]) -> WalkforwardRun:
    # Without its folds at hand (a list, or a run sent without fold detail) the stored count speaks.
    declared = None if folds else (row.fold_count or None)
    return entity(WalkforwardRun, row, folds=folds, declared_fold_count=declared)


class SqlRunRepository(SqlRepository):
    async def add(self, run: WalkforwardRun) -> None:
        await self._insert(t.runs, run)
        if run.folds:
            await self._bulk_insert(t.folds, (row_values(t.folds, fold, run_id=run.run_id) for fold in run.folds))

    async def save(self, run: WalkforwardRun) -> None:
        await self._update(t.runs, "run_id", run, "run")

    async def delete(self, run_id: UUID) -> None:
        await self._delete(t.folds, t.runs, key="run_id", ident=run_id, noun="run")

    async def lock(self, run_id: UUID) -> None:
        await self._lock_row(t.runs, "run_id", run_id)

    async def replace_folds(self, run: WalkforwardRun) -> None:
        await self._execute(delete(t.folds).where(t.folds.c.run_id == run.run_id))
        await self._bulk_insert(t.folds, (row_values(t.folds, fold, run_id=run.run_id) for fold in run.folds))

    async def get(self, run_id: UUID) -> WalkforwardRun | None:
        rows = await self._rows(select(t.runs).where(t.runs.c.run_id == run_id))
        if not rows:
            return None
        fold_rows = await self._rows(select(t.folds).where(t.folds.c.run_id == run_id).order_by(t.folds.c.fold_number))
        return _run(rows[0], [entity(Fold, row._mapping) for row in fold_rows])

    async def prediction_measurement(self, run_id: UUID) -> str | None:
        result = await self._execute(select(t.runs.c.prediction_measurement).where(t.runs.c.run_id == run_id))
        found: str | None = result.scalar_one_or_none()
        return found

    async def list(self, filters: RunFilter, page: PageRequest) -> Page[WalkforwardRun]:
        c = t.runs.c
        conditions = equal_where_given(
            (c.dataset_id, filters.dataset_id),
            (c.dataset_slug, filters.dataset_slug),
            (c.status, filters.status),
            (c.prediction_measurement, filters.measurement),
        )
        if filters.search:
            conditions.append(
                or_(
                    contains(c.dataset_slug, filters.search),
                    contains(c.prediction_measurement, filters.search),
                    contains(c.target_column, filters.search),
                )
            )
        return await self._newest_first(t.runs, "run_id", conditions, page, lambda row: _run(row, []))

    async def measurement_taken(self, measurement: str) -> bool:
        return await self._measurement_taken(measurement)
