"""Search in the in-memory store: records built from its tables, evaluated by the domain's own meaning."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any, Protocol, TypeVar

from domain.datasets import Dataset
from domain.search import memory
from domain.search.query import Found, SearchQuery
from domain.search.records import DatasetFacts, RunRecord, SimulationRecord
from domain.versions import staleness

R = TypeVar("R", RunRecord, SimulationRecord)


class _Rows(Protocol):
    def rows(self) -> dict[Any, Any]: ...


class Tables(Protocol):
    """What search reads of a unit of work's tables."""

    @property
    def datasets(self) -> _Rows: ...
    @property
    def runs(self) -> _Rows: ...
    @property
    def simulations(self) -> _Rows: ...
    @property
    def versions(self) -> _Rows: ...


def _stale(tables: Tables, record: R) -> R:
    """The record with `stale` answered from the dataset's versions, as the application does."""
    item = record.run if isinstance(record, RunRecord) else record.simulation
    history = [v for v in tables.versions.rows().values() if v.dataset_id == item.dataset_id]
    found = staleness(item.dataset_version, history, "run" if isinstance(record, RunRecord) else "simulation")
    marked = replace(item, stale=found.stale, stale_reason=found.reason)
    return replace(record, run=marked) if isinstance(record, RunRecord) else replace(record, simulation=marked)


def _facts(dataset: Dataset | None) -> DatasetFacts:
    if dataset is None:
        return DatasetFacts()
    return DatasetFacts(str(dataset.dataset_slug), dataset.symbol, dataset.granularity)


def _copied(found: Found[R]) -> Found[R]:
    # Callers may change what they get; the stored objects must not change with them.
    return replace(found, items=[copy.deepcopy(record) for record in found.items])


class InMemoryRunSearch:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def search(self, query: SearchQuery) -> Found[RunRecord]:
        datasets = self._t.datasets.rows()
        records = [
            # As a SQL list gives it: the fold count without the folds.
            _stale(
                self._t,
                RunRecord(
                    replace(run, folds=[], declared_fold_count=run.fold_count or None),
                    _facts(datasets.get(run.dataset_id)),
                ),
            )
            for run in self._t.runs.rows().values()
        ]
        return _copied(memory.search(records, query))


class InMemorySimulationSearch:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def search(self, query: SearchQuery) -> Found[SimulationRecord]:
        datasets, runs = self._t.datasets.rows(), self._t.runs.rows()
        records = []
        for simulation in self._t.simulations.rows().values():
            run = runs.get(simulation.run_id)
            records.append(
                _stale(
                    self._t,
                    SimulationRecord(
                        simulation,
                        _facts(datasets.get(simulation.dataset_id)),
                        dict(run.summary_metrics) if run else {},
                        dict(run.hyperparameters) if run else {},
                    ),
                )
            )
        return _copied(memory.search(records, query))
