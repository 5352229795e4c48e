"""`/api/simulations`: trade replays, their trades, buckets and equity curves."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Final

import msgspec
import pyarrow as pa
from litestar import Request, Response, Router, get, post

from application.commands import SaveSimulation
from application.idempotency import IdempotencyKey
from application.ports import SimulationFilter
from application.series_ports import FrameUpload
from application.simulations import EquityCurve, SimulationSaved
from application.timeseries import RangeRows
from domain.frames import FrameKind
from domain.jobs import JobType
from domain.paging import Page, PageRequest
from domain.search.query import Found
from domain.search.records import SimulationRecord
from domain.simulations import Simulation, SimulationDetails, Trade, TradeBucket
from domain.values import MeasurementName, format_nanos, output_unit
from entrypoints.http import deletes, updates
from entrypoints.http import parameters as p
from entrypoints.http import presenters as present
from entrypoints.http import schemas as s
from entrypoints.http import search as finding
from entrypoints.http.examples import SIMULATION_EXAMPLE
from entrypoints.http.jobs_submit import RecordSave, RecordWithFrame
from entrypoints.http.openapi_extras import ref, streamed
from entrypoints.http.record_lists import RECORD_LIST, RecordScope, parse_uuid
from entrypoints.http.streaming import attachment, choose_format, stream_batches, stream_rows
from entrypoints.http.use_cases import StreamingUseCase, UseCase


def simulation_command(body: s.SimulationIn, trades: FrameUpload | None, key: IdempotencyKey | None) -> SaveSimulation:
    if body.trades_measurement is not None:
        # Checked here too, so `?async=true` refuses it before queuing rather than in a failed job.
        MeasurementName(body.trades_measurement, "trades_measurement")
    return SaveSimulation(
        run_ref=body.run_id,
        details=msgspec.convert(body, SimulationDetails, from_attributes=True),
        trades_measurement=body.trades_measurement,
        trade_buckets=None
        if body.trade_buckets is None
        else msgspec.convert(body.trade_buckets, list[TradeBucket], from_attributes=True),
        trade_count=body.trade_count,
        simulation_id=parse_uuid(body.simulation_id, "simulation_id"),
        trades=trades,
        idempotency=key,
    )


SIMULATION_WITH_TRADES: Final = RecordWithFrame(
    s.SimulationIn,
    "simulation",
    "trades",
    FrameKind.TRADES,
    JobType.SIMULATION_PERSIST,
    simulation_command,
    lambda command: {"run_id": command.run_ref},
    s.SimulationSavedOut,
)


@post(
    "/",
    summary="Save a simulation with its trades and buckets",
    **SIMULATION_WITH_TRADES.route(SIMULATION_EXAMPLE, "Trades"),
)
async def save_simulation(save_simulation: UseCase[SimulationSaved], saving: RecordSave) -> Response[Any]:
    return await saving(SIMULATION_WITH_TRADES, save_simulation)


@get("/", summary="List simulations", dependencies=RECORD_LIST)
async def list_simulations(
    list_simulations: UseCase[Page[Simulation]],
    search_simulations: UseCase[Found[SimulationRecord]],
    run_id: p.RunFilterId = None,
    *,
    within: RecordScope,
    list_query: finding.SearchRequest,
) -> s.SimulationPage | finding.SimulationSearchPage:
    run_uuid = parse_uuid(run_id, "run_id")
    if list_query.asks_search:
        conditions = finding.legacy_conditions(run_id=run_uuid, **within.filters())
        return await finding.find_simulations(search_simulations, replace(list_query, conditions=conditions))
    filters = SimulationFilter(within.dataset_id, within.dataset_slug, within.status, run_id=run_uuid)
    page = await list_simulations(filters, PageRequest.of(list_query.limit, list_query.offset, list_query.after))
    return present.page_out(s.SimulationPage, page, present.simulation_summary)


@get("/{simulation_id:str}", summary="A simulation with its buckets")
async def get_simulation(get_simulation: UseCase[Simulation], simulation_id: p.SimulationId) -> s.SimulationOut:
    return present.simulation_out(await get_simulation(simulation_id), "")


@get(
    "/{simulation_id:str}/trades",
    summary="A simulation's trades by bar time: JSON pages or a stream",
    **streamed(ref("TradePage")),
)
async def trades(
    request: Request[Any, Any, Any],
    trades_page: UseCase[Page[Trade]],
    read_trades: UseCase[RangeRows | None],
    trades_as_batches: StreamingUseCase[pa.RecordBatch],
    simulation_id: p.SimulationId,
    format: p.Format = None,
    limit: p.Limit = None,
    offset: p.Offset = None,
    after: p.After = None,
    ts_unit: p.TsUnit = None,
    timeout: p.Timeout = 60.0,
    download: p.Download = False,
) -> Any:
    fmt = choose_format(format, request.headers.get("accept"), "json")
    unit = output_unit(ts_unit, fmt)
    if fmt == "json" and not download:
        page = await trades_page(simulation_id, PageRequest.of(limit, offset, after, default_limit=1000))
        return present.page_out(s.TradePage, page, lambda t: present.trade_out(t, unit))
    filename = attachment(download, f"trades_{simulation_id}")
    rows = await read_trades(simulation_id, timeout)
    if rows is None:
        return await stream_batches(trades_as_batches(simulation_id), fmt, unit, filename)
    return await stream_rows(rows, fmt, unit, filename, rename={"timestamp": "bar_timestamp"})


@get("/{simulation_id:str}/equity", summary="The equity curve computed from the trades")
async def equity(
    simulation_equity: UseCase[EquityCurve], simulation_id: p.SimulationId, ts_unit: p.TsUnit = None
) -> s.EquityOut:
    ts_unit = output_unit(ts_unit, "json")
    curve = await simulation_equity(simulation_id)
    return s.EquityOut(
        simulation_id=str(curve.simulation_id),
        initial_capital=curve.initial_capital,
        points=[
            s.EquityPointOut(timestamp=format_nanos(p.timestamp, ts_unit), equity=p.equity, drawdown=p.drawdown)
            for p in curve.points
        ],
    )


router = Router(
    path="/api/simulations",
    route_handlers=[
        save_simulation,
        list_simulations,
        get_simulation,
        trades,
        equity,
        updates.patch_simulation,
        deletes.delete_simulation,
    ],
    tags=["simulations"],
)
