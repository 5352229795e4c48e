"""`stage1_dataset_versions`: one row per change of a dataset's rows."""

from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

from sqlalchemy import ColumnElement, Table, and_, exists, func, or_, select

from adapters.sql import tables as t
from adapters.sql.mapping import entity
from adapters.sql.repositories import SqlRepository
from domain.paging import Page, PageRequest
from domain.versions import DatasetVersion


class SqlDatasetVersions(SqlRepository):
    async def add(self, version: DatasetVersion) -> None:
        await self._insert(t.dataset_versions, version)

    async def latest(self, dataset_id: UUID) -> DatasetVersion | None:
        v = t.dataset_versions
        statement = select(v).where(v.c.dataset_id == dataset_id).order_by(v.c.version.desc()).limit(1)
        return await self._first(DatasetVersion, statement)

    async def newest_first(self, dataset_id: UUID, page: PageRequest) -> Page[DatasetVersion]:
        v = t.dataset_versions
        total = int(await self._scalar(select(func.count()).select_from(v).where(v.c.dataset_id == dataset_id)))
        statement = (
            select(v).where(v.c.dataset_id == dataset_id).order_by(v.c.version.desc())
            .limit(page.limit).offset(page.offset)
        )
        rows = await self._rows(statement)
        return Page([entity(DatasetVersion, row._mapping) for row in rows], total, page.limit, page.offset, None)

    async def history(self, dataset_ids: Collection[UUID]) -> dict[UUID, list[DatasetVersion]]:
        if not dataset_ids:
            return {}
        v = t.dataset_versions
        rows = await self._rows(select(v).where(v.c.dataset_id.in_(list(set(dataset_ids)))).order_by(v.c.version))
        found: dict[UUID, list[DatasetVersion]] = {}
        for row in rows:
            found.setdefault(row.dataset_id, []).append(entity(DatasetVersion, row._mapping))
        return found


def stale_condition(records: Table) -> ColumnElement[bool]:
    """True for a row of `records` (runs or simulations) a later dataset version made stale: as
    `domain.versions.is_stale_by`, in SQL, so that search can filter and sort by it."""
    later = t.dataset_versions.alias("later_version")
    saved = t.dataset_versions.alias("saved_version")
    touched_used_bars = or_(
        later.c.changed_from_ts.is_(None),
        and_(saved.c.ohlcv_last_ts.is_(None), saved.c.indicator_last_ts.is_(None)),
        later.c.changed_from_ts <= saved.c.ohlcv_last_ts,
        later.c.changed_from_ts <= saved.c.indicator_last_ts,
    )
    condition: ColumnElement[bool] = exists().where(
        saved.c.dataset_id == records.c.dataset_id,
        saved.c.version == records.c.dataset_version,
        later.c.dataset_id == records.c.dataset_id,
        later.c.version > records.c.dataset_version,
        touched_used_bars,
    )
    return condition
