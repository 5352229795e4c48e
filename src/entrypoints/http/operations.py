"""Health, and the read aliases the Stage 1.3 backend answered on."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, Router, get
from litestar.params import Parameter

from application.context import Ports
from application.health import check_health
from entrypoints.http import datasets, runs, simulations
from entrypoints.http import schemas as s
from entrypoints.settings import Settings

VERSION = "0.1.0"


@get(["/api/health", "/healthz"], summary="Service and store health; 503 when down", tags=["operations"])
async def health(ports: Ports, settings: Settings) -> Response[dict[str, Any]]:
    report = await check_health(ports)
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


Limit = Annotated[int | None, Parameter(ge=1, le=1000, required=False)]
Offset = Annotated[int | None, Parameter(ge=0, le=2**62, required=False)]


@get("/api/indicators/datasets", summary="Legacy alias of GET /api/datasets", tags=["legacy"])
async def legacy_datasets(ports: Ports, limit: Limit = None, offset: Offset = None) -> s.DatasetPage:
    result: s.DatasetPage = await datasets.list_datasets.fn(ports, limit=limit, offset=offset)
    return result


@get("/api/indicators/datasets/{ref:str}", summary="Legacy alias of GET /api/datasets/{id}", tags=["legacy"])
async def legacy_dataset(ports: Ports, ref: str) -> s.DatasetDetailOut:
    result: s.DatasetDetailOut = await datasets.dataset_detail.fn(ports, ref)
    return result


@get("/api/walkforward/runs", summary="Legacy alias of GET /api/runs", tags=["legacy"])
async def legacy_runs(ports: Ports, limit: Limit = None, offset: Offset = None) -> s.RunPage:
    result: s.RunPage = await runs.list_runs.fn(ports, limit=limit, offset=offset)
    return result


@get("/api/walkforward/runs/{run_id:str}", summary="Legacy alias of GET /api/runs/{id}", tags=["legacy"])
async def legacy_run(request: Request[Any, Any, Any], ports: Ports, run_id: str) -> Any:
    result: Any = await runs.get_run.fn(request, ports, run_id)
    return result


@get("/api/tradesim/runs", summary="Legacy alias of GET /api/simulations", tags=["legacy"])
async def legacy_simulations(ports: Ports, limit: Limit = None, offset: Offset = None) -> s.SimulationPage:
    result: s.SimulationPage = await simulations.list_simulations.fn(ports, limit=limit, offset=offset)
    return result


@get("/api/tradesim/runs/{simulation_id:str}", summary="Legacy alias of GET /api/simulations/{id}", tags=["legacy"])
async def legacy_simulation(ports: Ports, simulation_id: str) -> s.SimulationOut:
    result: s.SimulationOut = await simulations.get_simulation.fn(ports, simulation_id)
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
