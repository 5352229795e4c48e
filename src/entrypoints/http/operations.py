"""Health, and the read aliases the Stage 1.3 backend answered on."""

from __future__ import annotations

from typing import Any, Final

from litestar import Response, Router, get
from litestar.di import Provide
from litestar.openapi.spec import OpenAPIType, Schema

from application.dataset_queries import DatasetDetail
from application.health import HealthReport
from application.ports import DatasetListing
from application.search import SearchRequest
from application.timeseries import RangeRows
from domain.paging import Page, PageRequest
from domain.runs import WalkforwardRun
from domain.search.query import Found
from domain.search.records import RunRecord, SimulationRecord
from domain.simulations import Simulation
from entrypoints.http import datasets, runs, simulations
from entrypoints.http import parameters as p
from entrypoints.http import schemas as s
from entrypoints.http.errors import STORE_ERRORS, error_responses
from entrypoints.http.openapi_extras import described, json_of, ref
from entrypoints.http.record_lists import RecordScope
from entrypoints.http.use_cases import UseCase
from entrypoints.settings import Settings

VERSION = "0.1.0"


HEALTH: Final = json_of(
    Schema(
        all_of=[
            ref("HealthOut"),
            Schema(
                type=OpenAPIType.OBJECT,
                properties={
                    "postgres": Schema(type=OpenAPIType.OBJECT, description="`metadata`, when it is Postgres."),
                    "questdb": Schema(type=OpenAPIType.OBJECT, description="`timeseries`, when it is QuestDB."),
                },
            ),
        ]
    )
)


@get(
    ["/api/health", "/healthz"],
    summary="Service and store health; 503 when down",
    tags=["operations"],
    opt=described(ok={"200": HEALTH, "503": HEALTH}),
)
async def health(check_health: UseCase[HealthReport], settings: Settings) -> Response[dict[str, Any]]:
    report = await check_health()
    body: dict[str, Any] = {
        "status": report.status,
        "metadata": report.metadata,
        "timeseries": report.timeseries,
        "jobs": report.jobs,
        "version": VERSION,
    }
    # The names the desktop knows, when those stores are the ones in use.
    if not settings.is_embedded_metadata:
        body["postgres"] = report.metadata
    if settings.timeseries == "questdb":
        body["questdb"] = report.timeseries
    return Response(body, status_code=503 if report.status == "down" else 200)




@get("/api/indicators/datasets", summary="Legacy alias of GET /api/datasets", tags=["legacy"])
async def legacy_datasets(
    list_datasets: UseCase[Page[DatasetListing]], limit: p.Limit = None, offset: p.Offset = None
) -> s.DatasetPage:
    page = PageRequest.of(limit, offset)
    result: s.DatasetPage = await datasets.list_datasets.fn(list_datasets, page=page)
    return result


@get(
    "/api/indicators/datasets/{ref:str}",
    summary="Legacy alias of GET /api/datasets/{id}",
    tags=["legacy"],
    responses=error_responses(*STORE_ERRORS),
)
async def legacy_dataset(dataset_detail: UseCase[DatasetDetail], ref: p.DatasetRef) -> s.DatasetDetailOut:
    result: s.DatasetDetailOut = await datasets.dataset_detail.fn(dataset_detail, ref)
    return result


def legacy_page(limit: p.Limit = None, offset: p.Offset = None) -> SearchRequest:
    return SearchRequest(limit=limit, offset=offset)


# The legacy record lists page through every record (no filters, no search) by `limit` and `offset` only.
LEGACY_PAGE: Final = {"page": Provide(legacy_page, sync_to_thread=False)}
EVERYTHING: Final = RecordScope(None, None, None)


@get("/api/walkforward/runs", summary="Legacy alias of GET /api/runs", tags=["legacy"], dependencies=LEGACY_PAGE)
async def legacy_runs(
    list_runs: UseCase[Page[WalkforwardRun]], search_runs: UseCase[Found[RunRecord]], page: SearchRequest
) -> s.RunPage:
    result: s.RunPage = await runs.list_runs.fn(list_runs, search_runs, within=EVERYTHING, list_query=page)
    return result


@get(
    "/api/walkforward/runs/{run_id:str}",
    summary="Legacy alias of GET /api/runs/{id}",
    tags=["legacy"],
    opt=described(ok={"200": json_of(ref("RunOut"))}),
)
async def legacy_run(get_run: UseCase[WalkforwardRun], read_predictions: UseCase[RangeRows], run_id: p.RunId) -> Any:
    result: Any = await runs.get_run.fn(get_run, read_predictions, run_id)
    return result


@get("/api/tradesim/runs", summary="Legacy alias of GET /api/simulations", tags=["legacy"], dependencies=LEGACY_PAGE)
async def legacy_simulations(
    list_simulations: UseCase[Page[Simulation]],
    search_simulations: UseCase[Found[SimulationRecord]],
    page: SearchRequest,
) -> s.SimulationPage:
    result: s.SimulationPage = await simulations.list_simulations.fn(
        list_simulations, search_simulations, within=EVERYTHING, list_query=page
    )
    return result


@get("/api/tradesim/runs/{simulation_id:str}", summary="Legacy alias of GET /api/simulations/{id}", tags=["legacy"])
async def legacy_simulation(get_simulation: UseCase[Simulation], simulation_id: p.SimulationId) -> s.SimulationOut:
    result: s.SimulationOut = await simulations.get_simulation.fn(get_simulation, simulation_id)
    return result


router = Router(
    path="/",
    route_handlers=[
        health,
        legacy_datasets,
        legacy_dataset,
        legacy_runs,
        legacy_run,
        legacy_simulations,
        legacy_simulation,
    ],
)
