"""Dataset versions in memory, keyed by (dataset, version); behaves as `adapters/sql/versions.py`."""

from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

from adapters.memory.tables import Table
from domain.paging import Page, PageRequest
from domain.versions import DatasetVersion


class InMemoryDatasetVersions:
    def __init__(self, table: Table[tuple[UUID, int], DatasetVersion]) -> None:
        self._table = table

    async def add(self, version: DatasetVersion) -> None:
        self._table.insert((version.dataset_id, version.version), version)

    def _of(self, dataset_id: UUID) -> list[DatasetVersion]:
        return sorted((v for v in self._table.rows().values() if v.dataset_id == dataset_id), key=lambda v: v.version)

    async def latest(self, dataset_id: UUID) -> DatasetVersion | None:
        versions = self._of(dataset_id)
        return versions[-1] if versions else None

    async def newest_first(self, dataset_id: UUID, page: PageRequest) -> Page[DatasetVersion]:
        newest = self._of(dataset_id)[::-1]
        return Page(newest[page.offset : page.offset + page.limit], len(newest), page.limit, page.offset, None)

    async def history(self, dataset_ids: Collection[UUID]) -> dict[UUID, list[DatasetVersion]]:
        found: dict[UUID, list[DatasetVersion]] = {}
        for dataset_id in set(dataset_ids):
            versions = self._of(dataset_id)
            if versions:
                found[dataset_id] = versions
        return found
