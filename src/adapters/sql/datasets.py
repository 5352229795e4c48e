"""`stage1_datasets`, with every write mirrored into the legacy `indicator_datasets`."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from adapters.sql import tables as t
from adapters.sql.mapping import entity, row_values
from adapters.sql.repositories import SqlRepository, contains, equal_where_given
from application.ports import DatasetFilter, DatasetListing
from domain.datasets import Dataset
from domain.paging import Page, PageRequest

# The legacy registry names a few columns differently; every other column has the canonical name.
_LEGACY_NAMES = {
    "measurement": "indicator_measurement",
    "row_count": "indicator_rows",
    "first_ts": "indicator_first_ts",
    "last_ts": "indicator_last_ts",
}


def _legacy_values(dataset: Dataset) -> dict[str, Any]:
    values = row_values(t.datasets, dataset)
    return {column.name: values[_LEGACY_NAMES.get(column.name, column.name)] for column in t.legacy_datasets.c}


def _related(table: Any, label: str) -> Any:
    return (
        select(func.count())
        .select_from(table)
        .where(table.c.dataset_id == t.datasets.c.dataset_id)
        .scalar_subquery()
        .label(label)
    )


class SqlDatasetRepository(SqlRepository):
    async def lock(self, dataset_id: UUID) -> None:
        await self._lock_row(t.datasets, "dataset_id", dataset_id)

    async def add(self, dataset: Dataset) -> None:
        await self._insert(t.datasets, dataset)
        await self._mirror(dataset)

    async def save(self, dataset: Dataset) -> None:
        await self._update(t.datasets, "dataset_id", dataset, "dataset")
        await self._mirror(dataset)

    async def delete(self, dataset_id: UUID) -> None:
        await self._delete(t.legacy_datasets, t.datasets, key="dataset_id", ident=dataset_id, noun="dataset")

    async def _mirror(self, dataset: Dataset) -> None:
        legacy = t.legacy_datasets
        # A desktop may have registered the slug in the legacy table under another id; the canonical wins.
        await self._execute(
            delete(legacy).where(
                legacy.c.dataset_slug == str(dataset.dataset_slug), legacy.c.dataset_id != dataset.dataset_id
            )
        )
        values = _legacy_values(dataset)
        changes = {name: value for name, value in values.items() if name not in ("dataset_id", "created_at")}
        dialect = postgresql if self._dialect == "postgresql" else sqlite
        statement = dialect.insert(legacy).values(values)
        await self._execute(statement.on_conflict_do_update(index_elements=[legacy.c.dataset_id], set_=changes))

    async def get(self, dataset_id: UUID) -> Dataset | None:
        return await self._first(Dataset, select(t.datasets).where(t.datasets.c.dataset_id == dataset_id))

    async def get_by_slug(self, slug: str) -> Dataset | None:
        return await self._first(Dataset, select(t.datasets).where(t.datasets.c.dataset_slug == slug))

    async def list(self, filters: DatasetFilter, page: PageRequest) -> Page[DatasetListing]:
        c = t.datasets.c
        conditions = equal_where_given((c.symbol, filters.symbol), (c.granularity, filters.granularity))
        if filters.search:
            conditions.append(or_(contains(c.dataset_slug, filters.search), contains(c.symbol, filters.search)))
        return await self._newest_first(
            t.datasets,
            "dataset_id",
            conditions,
            page,
            lambda row: DatasetListing(entity(Dataset, row._mapping), row.related_runs, row.related_simulations),
            columns=(_related(t.runs, "related_runs"), _related(t.simulations, "related_simulations")),
        )

    async def related_counts(self, dataset_id: UUID) -> tuple[int, int]:
        runs = await self._scalar(select(func.count()).where(t.runs.c.dataset_id == dataset_id))
        sims = await self._scalar(select(func.count()).where(t.simulations.c.dataset_id == dataset_id))
        return int(runs), int(sims)
