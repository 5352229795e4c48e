"""Simulations, their trades, buckets and equity curves on the wire."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from entrypoints.http.schemas.common import (
    Count,
    Json,
    Name,
    NotesOut,
    Paged,
    RecordIn,
    RecordSummaryOut,
    RowsWritten,
    RunIdOut,
    RunStatusName,
    ShortText,
    SimulationIdOut,
    Struct,
    SummaryMetrics,
    TradesMeasurementOut,
    doc,
)

Config = Annotated[Json, doc("How the simulation was set up, e.g. `initial_capital`; searchable as `config.<key>`.")]
TradeCount = Annotated[int, doc("Trades in the simulation.")]
Money = Annotated[float, doc("In the quote currency.")]
TimeValue = Annotated[int | str, doc("Epoch milliseconds unless `ts_unit` says otherwise.")]


class TradeBucketIO(Struct, forbid_unknown_fields=False):
    """Trade statistics over one side: `all`, `long` or `short`."""

    bucket: Annotated[ShortText, doc("Which trades: `all`, `long` or `short`.")]
    trade_count: Annotated[Count, doc("Trades in the bucket.")] = 0
    win_count: Annotated[Count, doc("Trades with a positive pnl.")] = 0
    loss_count: Annotated[Count, doc("Trades with a negative pnl.")] = 0
    total_pnl: Annotated[float, doc("Sum of the trades' pnl.")] = 0.0
    avg_pnl: Annotated[float, doc("Mean pnl per trade.")] = 0.0
    avg_return_pct: Annotated[float, doc("Mean return per trade, in percent.")] = 0.0
    max_win: Annotated[float, doc("Largest pnl of one trade.")] = 0.0
    max_loss: Annotated[float, doc("Smallest (most negative) pnl of one trade.")] = 0.0


class SimulationIn(RecordIn, kw_only=True, forbid_unknown_fields=False):
    """A trade simulation of a run, with its trades inline or as a file part."""

    run_id: Annotated[str, Meta(max_length=200), doc("The simulated run's id (UUID).")]
    simulation_id: Annotated[str | None, doc("An id (UUID) to use; default a new one.")] = None
    dataset_id: Annotated[str | None, doc("Ignored: the run names the dataset.")] = None
    trades_measurement: Annotated[Name | None, doc("Where trades go; default `<slug>_sim_<time>`.")] = None
    status: Annotated[RunStatusName, doc("The simulation's status; default COMPLETED.")] = "COMPLETED"
    config: Config = {}
    trade_count: Annotated[Count | None, doc("Trades the client declares, when none are sent.")] = None
    trades: Annotated[list[Json] | None, doc("Trades as JSON objects, each with a `bar_timestamp`.")] = None
    trades_csv: Annotated[str | None, doc("Trades as CSV text with a header row.")] = None
    trade_buckets: (
        Annotated[list[TradeBucketIO], Meta(max_length=10_000), doc("Bucket statistics; default computed.")] | None
    ) = None


class SimulationSummaryOut(RecordSummaryOut):
    simulation_id: SimulationIdOut
    run_id: RunIdOut
    trades_measurement: TradesMeasurementOut
    config: Config
    summary_metrics: SummaryMetrics
    trade_count: TradeCount


class SimulationLinks(Struct):
    trades: Annotated[str, doc("Path of the simulation's trades.")]
    equity: Annotated[str, doc("Path of the simulation's equity curve.")]


class SimulationOut(SimulationSummaryOut):
    notes: NotesOut
    trade_buckets: Annotated[list[TradeBucketIO], doc("Statistics over all, long and short trades.")]
    links: Annotated[SimulationLinks, doc("Where to read the simulation's rows.")]


class SimulationPage(Paged):
    simulations: Annotated[list[SimulationSummaryOut], doc("This page's simulations, newest first.")]


class SimulationSavedOut(Struct):
    simulation_id: SimulationIdOut
    trades_measurement: TradesMeasurementOut
    questdb_rows_written: RowsWritten


class TradeOut(Struct):
    """One trade."""

    trade_id: Annotated[int, doc("The trade's number within the simulation.")]
    bar_timestamp: Annotated[TimeValue, doc("The bar the trade belongs to; trades are ordered by it.")]
    entry_timestamp: Annotated[int | str | None, doc("When the position opened.")]
    exit_timestamp: Annotated[int | str | None, doc("When the position closed.")]
    side: Annotated[str, doc("`long` or `short`.")]
    entry_price: Annotated[float | None, doc("Price at entry.")]
    exit_price: Annotated[float | None, doc("Price at exit.")]
    quantity: Annotated[float | None, doc("Position size in units of the instrument.")]
    pnl: Annotated[float | None, doc("Profit or loss, after fees.")]
    return_pct: Annotated[float | None, doc("Return in percent.")]
    fees: Annotated[float | None, doc("Fees paid.")]
    fold_number: Annotated[int | None, doc("The walk-forward fold the trade came from.")]


class TradePage(Paged):
    trades: Annotated[list[TradeOut], doc("This page's trades by bar time.")]


class EquityPointOut(Struct):
    timestamp: Annotated[TimeValue, doc("The start, or when a trade closed.")]
    equity: Annotated[Money, doc("Capital after the trades closed so far.")]
    drawdown: Annotated[float, doc("Fall from the highest equity so far, as a fraction.")]


class EquityOut(Struct):
    simulation_id: SimulationIdOut
    initial_capital: Annotated[Money, doc("Capital before the first trade (`config.initial_capital`).")]
    points: Annotated[list[EquityPointOut], doc("One point at the start, then one per closed trade, in time order.")]
