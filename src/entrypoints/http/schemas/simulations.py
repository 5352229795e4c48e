"""Simulations, their trades, buckets and equity curves on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import Meta

from entrypoints.http.schemas.common import Count, Json, Label, Name, Notes, RunStatusName, ShortText, Struct, Tags


class TradeBucketIO(Struct, forbid_unknown_fields=False):
    bucket: ShortText
    trade_count: Count = 0
    win_count: Count = 0
    loss_count: Count = 0
    total_pnl: float = 0.0
    avg_pnl: float = 0.0
    avg_return_pct: float = 0.0
    max_win: float = 0.0
    max_loss: float = 0.0


class SimulationIn(Struct, forbid_unknown_fields=False):
    run_id: Annotated[str, Meta(max_length=200)]
    simulation_id: str | None = None
    dataset_id: str | None = None
    trades_measurement: Name | None = None
    status: RunStatusName = "COMPLETED"
    config: Json = {}
    summary_metrics: Json = {}
    trade_count: Count | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    trades: list[Json] | None = None
    trades_csv: str | None = None
    trade_buckets: Annotated[list[TradeBucketIO], Meta(max_length=10_000)] | None = None
    name: Label | None = None
    tags: Tags = {}
    notes: Notes | None = None


class SimulationSummaryOut(Struct):
    simulation_id: str
    run_id: str
    dataset_id: str
    trades_measurement: str
    status: str
    config: Json
    summary_metrics: Json
    trade_count: int
    started_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    name: str | None
    tags: dict[str, str]
    dataset_version: int | None


class SimulationLinks(Struct):
    trades: str
    equity: str


class SimulationOut(SimulationSummaryOut):
    notes: str | None
    trade_buckets: list[TradeBucketIO]
    links: SimulationLinks


class SimulationPage(Struct):
    simulations: list[SimulationSummaryOut]
    total: int
    limit: int
    offset: int
    next_cursor: str | None


class SimulationSavedOut(Struct):
    simulation_id: str
    trades_measurement: str
    questdb_rows_written: int


class TradeOut(Struct):
    trade_id: int
    bar_timestamp: int | str
    entry_timestamp: int | str | None
    exit_timestamp: int | str | None
    side: str
    entry_price: float | None
    exit_price: float | None
    quantity: float | None
    pnl: float | None
    return_pct: float | None
    fees: float | None
    fold_number: int | None


class TradePage(Struct):
    trades: list[TradeOut]
    total: int
    limit: int
    offset: int
    next_cursor: str | None


class EquityPointOut(Struct):
    timestamp: int | str
    equity: float
    drawdown: float


class EquityOut(Struct):
    simulation_id: str
    initial_capital: float
    points: list[EquityPointOut]
