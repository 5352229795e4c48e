"""Find and compare over HTTP: `?filter=&order_by=&fields=&count=` on the lists, `POST .../search` with
the same in a JSON body, and `GET .../compare?ids=`.

Items keep the list shape; with `fields=` each item holds its id and the projected values under their
wire names (`metrics.sharpe` -> `"summary_metrics": {"sharpe": ...}`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Final
from uuid import UUID

import msgspec
from litestar import Router, get, post
from litestar.di import Provide
from litestar.openapi.spec import Example
from litestar.params import Body, Parameter

from application import search as use
from application.search import SearchRequest
from domain.runs import WalkforwardRun
from domain.search.compare import Comparison
from domain.search.fields import DATASET_ID, RUN_ID, RUNS, SIMULATIONS, FieldRef
from domain.search.query import Found
from domain.search.records import RunRecord, SimulationRecord
from domain.simulations import Simulation
from entrypoints.http import parameters as p
from entrypoints.http import presenters as present
from entrypoints.http.errors import error_responses
from entrypoints.http.schemas.common import NextCursor, PageLimit, PageOffset, doc
from entrypoints.http.use_cases import UseCase

Filter = Annotated[
    str | None,
    p.optional_text("A filter expression, e.g. `metrics.sharpe > 1 and status = 'COMPLETED'` (docs/search.md).", 8192),
]
OrderBy = Annotated[
    str | None,
    p.optional_text("`field [asc|desc], ...`, at most 8 keys; ties break by `created_at` desc, then id.", 8192),
]
Fields = Annotated[str | None, p.optional_text("Comma-separated fields to return instead of whole items.", 8192)]
Count = Annotated[
    bool,
    Parameter(required=False, description="true: `total` counts every match (a scan); otherwise null with a filter."),
]


def list_query(
    limit: p.Limit = None,
    offset: p.Offset = None,
    after: p.After = None,
    filter: Filter = None,
    order_by: OrderBy = None,
    fields: Fields = None,
    count: Count = False,
) -> SearchRequest:
    """The query parameters every searchable list takes: its page, and the search when one is asked for."""
    return SearchRequest(filter, order_by, fields, count, limit, offset, after)


# A list handler names `list_query: SearchRequest` and declares this, after its own filters.
LIST_QUERY: Final = {"list_query": Provide(list_query, sync_to_thread=False)}

__all__ = [
    "LIST_QUERY",
    "Count",
    "Fields",
    "Filter",
    "OrderBy",
    "SearchRequest",
    "find_runs",
    "find_simulations",
    "legacy_conditions",
    "router",
]


class SearchIn(msgspec.Struct, kw_only=True):
    """`POST /api/runs/search` and `/api/simulations/search`: the list's query parameters as JSON."""

    filter: Annotated[str | None, doc("A filter expression, e.g. `metrics.sharpe > 1` (docs/search.md).")] = None
    order_by: Annotated[str | None, doc("`field [asc|desc], ...`, at most 8 keys.")] = None
    fields: Annotated[str | list[str] | None, doc("Fields to return instead of whole items.")] = None
    limit: Annotated[int | None, doc("Most items on one page (1 to 1000).")] = None
    offset: Annotated[int | None, doc("Items to skip; `after` is cheaper for deep pages.")] = None
    after: Annotated[str | None, doc("The `next_cursor` of the previous page.")] = None
    count: Annotated[bool, doc("true: `total` counts every match (a scan).")] = False

    def request(self) -> SearchRequest:
        fields = ",".join(self.fields) if isinstance(self.fields, list) else self.fields
        return SearchRequest(self.filter, self.order_by, fields, self.count, self.limit, self.offset, self.after)


SearchTotal = Annotated[int | None, doc("Every match, over every page; null with a filter unless `count=true`.")]
Side = dict[str, list[Any]]
SideBySide = Annotated[Side, doc("Each key's values, one per compared item, in the order of `ids`.")]


class RunSearchPage(msgspec.Struct):
    runs: Annotated[list[dict[str, Any]], doc("Matching runs, whole or projected by `fields`.")]
    total: SearchTotal
    limit: PageLimit
    offset: PageOffset
    next_cursor: NextCursor


class SimulationSearchPage(msgspec.Struct):
    simulations: Annotated[list[dict[str, Any]], doc("Matching simulations, whole or projected by `fields`.")]
    total: SearchTotal
    limit: PageLimit
    offset: PageOffset
    next_cursor: NextCursor


class RunComparisonOut(msgspec.Struct):
    runs: Annotated[list[dict[str, Any]], doc("The compared runs, in the order of `ids`.")]
    params: Annotated[Side, doc("Hyperparameters side by side.")]
    params_differ: Annotated[list[str], doc("Hyperparameters whose values differ.")]
    metrics: Annotated[Side, doc("Summary metrics side by side.")]
    fold_metrics: Annotated[dict[str, Side], doc("Per fold number, its metrics side by side.")]
    datasets: Annotated[list[dict[str, Any]], doc("The datasets the runs are on.")]


class SimulationComparisonOut(msgspec.Struct):
    simulations: Annotated[list[dict[str, Any]], doc("The compared simulations, in the order of `ids`.")]
    config: Annotated[Side, doc("Configuration side by side.")]
    config_differ: Annotated[list[str], doc("Configuration keys whose values differ.")]
    metrics: Annotated[Side, doc("Summary metrics side by side.")]
    buckets: Annotated[dict[str, Side], doc("Per bucket (all, long, short), its statistics side by side.")]


# ---------------------------------------------------------------- projection


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, UUID) else value


def _wire_path(ref: FieldRef, entity: str) -> tuple[str, ...]:
    head, *rest = ref.path
    if head == "dataset":
        if entity == "runs" and rest[0] == "slug":
            return ("dataset_slug",)
        return ("dataset", {"slug": "dataset_slug"}.get(rest[0], rest[0]))
    return ref.path


def project(record: RunRecord | SimulationRecord, fields: tuple[FieldRef, ...], entity: str) -> dict[str, Any]:
    ident = "run_id" if entity == "runs" else "simulation_id"
    item: dict[str, Any] = {ident: str(record.ident)}
    for ref in fields:
        value = _plain(record.value(ref))
        if ref.path[0] == "buckets":
            buckets = item.setdefault("trade_buckets", [])
            bucket = next((b for b in buckets if b["bucket"] == ref.path[1]), None)
            if bucket is None:
                bucket = {"bucket": ref.path[1]}
                buckets.append(bucket)
            bucket[ref.path[2]] = value
            continue
        *parents, leaf = _wire_path(ref, entity)
        target = item
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    return item


def run_items(found: Found[RunRecord], fields: tuple[FieldRef, ...] | None) -> list[dict[str, Any]]:
    if fields is not None:
        return [project(record, fields, "runs") for record in found.items]
    return [msgspec.to_builtins(present.run_summary(record.run)) for record in found.items]


def simulation_items(found: Found[SimulationRecord], fields: tuple[FieldRef, ...] | None) -> list[dict[str, Any]]:
    if fields is not None:
        return [project(record, fields, "simulations") for record in found.items]
    return [msgspec.to_builtins(present.simulation_summary(record.simulation)) for record in found.items]


# ---------------------------------------------------------------- use from the list routes


async def find_runs(search_runs: UseCase[Found[RunRecord]], request: SearchRequest) -> RunSearchPage:
    query = use.build_query(request, RUNS)
    found = await search_runs(query)
    return RunSearchPage(run_items(found, query.fields), found.total, found.limit, found.offset, found.next_cursor)


async def find_simulations(
    search_simulations: UseCase[Found[SimulationRecord]], request: SearchRequest
) -> SimulationSearchPage:
    query = use.build_query(request, SIMULATIONS)
    found = await search_simulations(query)
    items = simulation_items(found, query.fields)
    return SimulationSearchPage(items, found.total, found.limit, found.offset, found.next_cursor)


def legacy_conditions(**filters: Any) -> tuple[tuple[FieldRef, Any], ...]:
    """The old list filters, as equality conditions on search fields (`None` means not given)."""
    refs = {
        "dataset_id": DATASET_ID,
        "run_id": RUN_ID,
        "dataset_slug": RUNS.fixed["dataset.slug"],
        "status": RUNS.fixed["status"],
        "measurement": RUNS.fixed["prediction_measurement"],
    }
    return tuple((refs[name], value) for name, value in filters.items() if value is not None)


# ---------------------------------------------------------------- routes


Searched = Annotated[
    SearchIn,
    Body(
        examples=[
            Example(
                summary="The best completed run of a dataset",
                value={
                    "filter": "dataset.slug = 'btc_1h' AND status = 'COMPLETED'",
                    "order_by": "metrics.sharpe desc",
                    "fields": ["name", "metrics.sharpe"],
                    "limit": 1,
                },
            )
        ]
    ),
]


@post("/runs/search", status_code=200, summary="Find runs with a filter expression, sorted and projected")
async def find_runs_by_body(search_runs: UseCase[Found[RunRecord]], data: Searched) -> RunSearchPage:
    return await find_runs(search_runs, data.request())


@post("/simulations/search", status_code=200, summary="Find simulations with a filter expression")
async def find_simulations_by_body(
    search_simulations: UseCase[Found[SimulationRecord]], data: Searched
) -> SimulationSearchPage:
    return await find_simulations(search_simulations, data.request())


Ids = Annotated[str | None, p.optional_text("2 to 20 comma-separated ids (UUIDs).", 2048)]


def compared(records: list[Any], out: Callable[[Any, str], msgspec.Struct]) -> list[dict[str, Any]]:
    """Each compared record as its detail answer without `links`."""
    items = [msgspec.to_builtins(out(record, "")) for record in records]
    for item in items:
        item.pop("links", None)
    return items


@get("/runs/compare", summary="Compare 2 to 20 runs side by side", responses=error_responses(404))
async def compare_runs(compare_runs: UseCase[Comparison[WalkforwardRun]], ids: Ids = None) -> RunComparisonOut:
    found = await compare_runs(ids)
    datasets = [
        {
            "dataset_id": str(run.dataset_id),
            "dataset_slug": str(run.dataset_slug),
            "dataset_version": run.dataset_version,
            "stale": run.stale,
        }
        for run in found.records
    ]
    runs = compared(found.records, present.run_out)
    return RunComparisonOut(runs, found.setup, found.setup_differ, found.metrics, found.parts, datasets)


@get("/simulations/compare", summary="Compare 2 to 20 simulations side by side", responses=error_responses(404))
async def compare_simulations(
    compare_simulations: UseCase[Comparison[Simulation]], ids: Ids = None
) -> SimulationComparisonOut:
    found = await compare_simulations(ids)
    sims = compared(found.records, present.simulation_out)
    return SimulationComparisonOut(sims, found.setup, found.setup_differ, found.metrics, found.parts)


router = Router(
    path="/api",
    route_handlers=[find_runs_by_body, find_simulations_by_body, compare_runs, compare_simulations],
    tags=["search"],
)
