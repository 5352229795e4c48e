"""Domain objects to wire structs. The only place that knows both, and it names no field msgspec can copy.

`wire` copies every field whose name the domain object and the wire struct share; a presenter spells out
only what the domain does not hold as a field (links, counts, properties, formatted times).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import msgspec

from application.dataset_queries import DatasetDetail, HierarchyNode
from application.job_events import public_payload
from application.ports import DatasetListing
from application.series_ports import MeasurementInfo
from domain.datasets import Dataset
from domain.jobs import Job
from domain.paging import Page
from domain.runs import WalkforwardRun
from domain.simulations import Simulation, Trade
from domain.values import format_nanos
from entrypoints.http import schemas as s

W = TypeVar("W", bound=msgspec.Struct)
T = TypeVar("T")

_PAGING = ("total", "limit", "offset", "next_cursor")


def wire(out: type[W], item: object, **extra: Any) -> W:
    """`item` as the wire struct `out`, nested objects included; `extra` adds or replaces fields.

    Through builtins rather than `from_attributes`: the frozen wire schema types ids and names as plain
    strings, and msgspec turns a UUID or a validated name (a str subclass) into a string only there.
    Only the fields `out` has are turned into builtins (a list item skips a run's parameters and metrics).
    """
    shared = _shared_fields(type(item), out)
    source = item if shared is None else {name: getattr(item, name) for name in shared if name not in extra}
    fields = msgspec.to_builtins(source, builtin_types=(datetime,), enc_hook=str)
    return msgspec.convert({**fields, **extra}, out)


_SHARED: dict[tuple[type[Any], type[Any]], tuple[str, ...] | None] = {}


def _shared_fields(kind: type[Any], out: type[msgspec.Struct]) -> tuple[str, ...] | None:
    """The dataclass fields of `kind` that `out` also has (None: `kind` is no dataclass, take it whole)."""
    if (kind, out) not in _SHARED:
        own = dataclasses.fields(kind) if dataclasses.is_dataclass(kind) else None
        _SHARED[kind, out] = None if own is None else tuple(f.name for f in own if f.name in out.__struct_fields__)
    return _SHARED[kind, out]


def page_out(out: type[W], page: Page[T], item: Callable[[T], Any]) -> W:
    """A page as its wire struct: each item presented under the struct's one list field, then the paging."""
    (items,) = (name for name in out.__struct_fields__ if name not in _PAGING)
    paging = {name: getattr(page, name) for name in _PAGING}
    return out(**{items: [item(x) for x in page.items]}, **paging)


def dataset_out(d: Dataset) -> s.DatasetOut:
    return wire(s.DatasetOut, d)


def dataset_item(listing: DatasetListing) -> s.DatasetListItem:
    return wire(s.DatasetListItem, listing.dataset, **_related(listing))


def dataset_links(base: str, dataset_id: str) -> s.DatasetLinks:
    root = f"{base}/api/datasets/{dataset_id}"
    return s.DatasetLinks(
        ohlcv=f"{root}/ohlcv", indicators=f"{root}/indicators", runs=f"{root}/runs", hierarchy=f"{root}/hierarchy"
    )


def dataset_detail(detail: DatasetDetail, base: str) -> s.DatasetDetailOut:
    listing = detail.listing
    return wire(
        s.DatasetDetailOut,
        listing.dataset,
        **_related(listing),
        questdb_state=detail.questdb_state,
        links=dataset_links(base, str(listing.dataset.dataset_id)),
    )


def _related(listing: DatasetListing) -> dict[str, int]:
    return {"related_runs": listing.related_runs, "related_simulations": listing.related_simulations}


def hierarchy(dataset: Dataset, nodes: list[HierarchyNode]) -> s.HierarchyOut:
    runs = [
        wire(
            s.HierarchyRun,
            node.run,
            fold_count=node.run.fold_count,
            simulations=[wire(s.HierarchySimulation, sim) for sim in node.simulations],
        )
        for node in nodes
    ]
    return wire(s.HierarchyOut, dataset, runs=runs)


def run_summary(r: WalkforwardRun) -> s.RunSummaryOut:
    return wire(s.RunSummaryOut, r, fold_count=r.fold_count)


def run_out(r: WalkforwardRun, base: str) -> s.RunOut:
    links = s.RunLinks(predictions=f"{base}/api/runs/{r.run_id}/predictions")
    return wire(s.RunOut, r, fold_count=r.fold_count, links=links)


def simulation_summary(sim: Simulation) -> s.SimulationSummaryOut:
    return wire(s.SimulationSummaryOut, sim)


def simulation_out(sim: Simulation, base: str) -> s.SimulationOut:
    root = f"{base}/api/simulations/{sim.simulation_id}"
    return wire(s.SimulationOut, sim, links=s.SimulationLinks(trades=f"{root}/trades", equity=f"{root}/equity"))


def _time(nanos: int | None, unit: str) -> int | str | None:
    return None if nanos is None else format_nanos(nanos, unit)


def trade_out(t: Trade, unit: str) -> s.TradeOut:
    return wire(
        s.TradeOut,
        t,
        bar_timestamp=format_nanos(t.bar_timestamp, unit),
        entry_timestamp=_time(t.entry_timestamp, unit),
        exit_timestamp=_time(t.exit_timestamp, unit),
    )


def job_out(job: Job) -> s.JobOut:
    return wire(s.JobOut, job, payload=public_payload(job.payload))


def _seconds(nanos: int | None) -> int | None:
    return None if nanos is None else nanos // 10**9


def measurement_out(info: MeasurementInfo) -> s.MeasurementOut:
    return wire(s.MeasurementOut, info, first_ts=_seconds(info.first_ns), last_ts=_seconds(info.last_ns))


def measurement_detail(info: MeasurementInfo, sample: list[dict[str, Any]]) -> s.MeasurementDetailOut:
    return wire(
        s.MeasurementDetailOut, info, first_ts=_seconds(info.first_ns), last_ts=_seconds(info.last_ns), sample=sample
    )
