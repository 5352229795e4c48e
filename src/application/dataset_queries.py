"""The read side of datasets: one dataset, its versions, the list, the detail with the store's view of its
measurements, the hierarchy of its runs and simulations, and its frames as rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from application.datasets import find_dataset
from application.ports import (
    DatasetFilter,
    DatasetListing,
    RunFilter,
    SimulationFilter,
    UnitOfWorkFactory,
)
from application.series_ports import RangeQuery, SampleBy, SeriesCatalog, SeriesReader
from application.timeseries import RangeRows
from domain.datasets import Dataset
from domain.errors import InvalidInput
from domain.frames import FrameKind
from domain.paging import MAX_LIMIT, Page, PageRequest
from domain.runs import WalkforwardRun
from domain.simulations import Simulation
from domain.values import sample_aggregate, sample_interval
from domain.versions import DatasetVersion


@dataclass(frozen=True, slots=True)
class DatasetDetail:
    listing: DatasetListing
    questdb_state: dict[str, dict[str, Any]]


async def get_dataset(ref: str, *, uow: UnitOfWorkFactory) -> Dataset:
    async with uow() as tx:
        return await find_dataset(tx, ref)


async def dataset_versions(ref: str, page: PageRequest, *, uow: UnitOfWorkFactory) -> Page[DatasetVersion]:
    """A dataset's versions, newest first."""
    async with uow() as tx:
        dataset = await find_dataset(tx, ref)
        return await tx.versions.newest_first(dataset.dataset_id, page)


async def list_datasets(filters: DatasetFilter, page: PageRequest, *, uow: UnitOfWorkFactory) -> Page[DatasetListing]:
    async with uow() as tx:
        return await tx.datasets.list(filters, page)


async def dataset_detail(ref: str, *, uow: UnitOfWorkFactory, catalog: SeriesCatalog) -> DatasetDetail:
    async with uow() as tx:
        dataset = await find_dataset(tx, ref)
        runs, simulations = await tx.datasets.related_counts(dataset.dataset_id)
    state = {
        "ohlcv": await _measurement_state(catalog, dataset, FrameKind.OHLCV),
        "indicator": await _measurement_state(catalog, dataset, FrameKind.INDICATORS),
    }
    return DatasetDetail(DatasetListing(dataset, runs, simulations), state)


@dataclass(frozen=True, slots=True)
class HierarchyNode:
    run: WalkforwardRun
    simulations: list[Simulation]


async def dataset_hierarchy(ref: str, *, uow: UnitOfWorkFactory) -> tuple[Dataset, list[HierarchyNode]]:
    """Dataset -> runs -> simulations, newest first at each level."""
    async with uow() as tx:
        dataset = await find_dataset(tx, ref)
        runs = await all_pages(lambda page: tx.runs.list(RunFilter(dataset_id=dataset.dataset_id), page))
        nodes = []
        for run in runs:
            sims = await all_pages(lambda page, r=run: tx.simulations.list(SimulationFilter(run_id=r.run_id), page))
            nodes.append(HierarchyNode(run, sims))
    return dataset, nodes


SAMPLE_AGGREGATES = {
    FrameKind.OHLCV: ({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}, "last"),
    FrameKind.INDICATORS: ({}, "last"),
}


@dataclass(frozen=True, slots=True)
class FrameRead:
    """What the client asked of a dataset's frame."""

    from_ns: int | None = None
    to_ns: int | None = None
    columns: list[str] | None = None
    limit: int | None = None
    sample_by: str | None = None
    timeout: float = 60.0
    aggregate: str | None = None  # first|last|min|max|mean for the columns without a fixed aggregate


async def read_dataset_frame(
    ref: str, kind: FrameKind, read: FrameRead, *, uow: UnitOfWorkFactory, reader: SeriesReader
) -> RangeRows:
    """The rows behind `GET /api/datasets/{id}/ohlcv` and `/indicators`."""
    async with uow() as tx:
        dataset = await find_dataset(tx, ref)
    sample = None
    if read.sample_by is not None:
        aggregates, default = SAMPLE_AGGREGATES[kind]
        if read.aggregate is not None:
            default = sample_aggregate(read.aggregate)
        sample = SampleBy(sample_interval(read.sample_by), aggregates, default)
    if read.from_ns is not None and read.to_ns is not None and read.from_ns > read.to_ns:
        raise InvalidInput("from must not be after to", {"field": "from"})
    query = RangeQuery(
        measurement=dataset.measurement_for(kind),
        from_ns=read.from_ns,
        to_ns=read.to_ns,
        columns=read.columns,
        limit=read.limit,
        sample_by=sample,
        timeout=read.timeout,
    )
    return RangeRows(query, reader)


# ---------------------------------------------------------------- helpers


async def _measurement_state(catalog: SeriesCatalog, dataset: Dataset, kind: FrameKind) -> dict[str, Any]:
    info = await catalog.describe(dataset.measurement_for(kind))
    return {
        "exists": info is not None,
        "row_count": None if info is None else info.row_count,
        "first_ts": None if info is None or info.first_ns is None else info.first_ns // 10**9,
        "last_ts": None if info is None or info.last_ns is None else info.last_ns // 10**9,
        "designated_timestamp": None if info is None else info.designated_timestamp,
        "partition_by": None if info is None else info.partition_by,
        "in_sync": dataset.in_sync_with(kind, None if info is None else info.stats),
    }


async def all_pages(fetch: Any) -> list[Any]:
    items: list[Any] = []
    page = PageRequest(limit=MAX_LIMIT)
    while True:
        result = await fetch(page)
        items.extend(result.items)
        if result.next_cursor is None:
            return items
        page = PageRequest.of(limit=MAX_LIMIT, after=result.next_cursor)
