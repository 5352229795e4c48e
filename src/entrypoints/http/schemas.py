"""The shapes on the wire. msgspec structs live only here; handlers turn them into commands.

Field names are the contract's and are frozen."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

Int64 = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)]
Count = Annotated[int, Meta(ge=0, le=2**63 - 1)]
Name = Annotated[str, Meta(max_length=256)]
ShortText = Annotated[str, Meta(max_length=256)]
LongText = Annotated[str, Meta(max_length=1_000_000)]
Json = dict[str, Any]
RunStatusName = Literal["PENDING", "RUNNING", "COMPLETED", "FAILED"]
FrameKindName = Literal["ohlcv", "indicators", "predictions", "trades", "generic"]
ModeName = Literal["append", "replace"]


class Struct(msgspec.Struct, kw_only=True, omit_defaults=False):
    pass


class ErrorBody(Struct):
    error: str
    details: Any = None


# ---------------------------------------------------------------- datasets


class DatasetIn(Struct, forbid_unknown_fields=False):
    dataset_slug: Annotated[str, Meta(max_length=200)]
    symbol: ShortText | None = None
    granularity: Annotated[str, Meta(max_length=16)] | None = None
    source: ShortText | None = None
    ohlcv_measurement: Name | None = None
    indicator_measurement: Name | None = None
    ohlcv_rows: Count | None = None
    indicator_rows: Count | None = None
    ohlcv_first_ts: Int64 | None = None
    ohlcv_last_ts: Int64 | None = None
    indicator_first_ts: Int64 | None = None
    indicator_last_ts: Int64 | None = None
    metadata: Json | None = None
    record_questdb: bool = False
    ohlcv_csv: str | None = None
    indicator_csv: str | None = None


class DatasetFramesIn(Struct, forbid_unknown_fields=False):
    """Frames for a dataset that exists (`POST /api/datasets/{id}/export`); the path names the dataset."""

    ohlcv_csv: str | None = None
    indicator_csv: str | None = None


class DatasetOut(Struct):
    dataset_id: str
    dataset_slug: str
    symbol: str | None
    granularity: str | None
    source: str | None
    ohlcv_measurement: str
    indicator_measurement: str
    ohlcv_rows: int
    indicator_rows: int
    ohlcv_first_ts: int | None
    ohlcv_last_ts: int | None
    indicator_first_ts: int | None
    indicator_last_ts: int | None
    metadata: Json
    created_at: datetime
    updated_at: datetime


class DatasetListItem(DatasetOut):
    related_runs: int
    related_simulations: int


class MeasurementState(Struct):
    exists: bool
    row_count: int | None
    first_ts: int | None
    last_ts: int | None
    designated_timestamp: str | None
    partition_by: str | None
    in_sync: bool


class DatasetLinks(Struct):
    ohlcv: str
    indicators: str
    runs: str
    hierarchy: str


class DatasetDetailOut(DatasetListItem):
    questdb_state: dict[str, MeasurementState]
    links: DatasetLinks


class DatasetPage(Struct):
    datasets: list[DatasetListItem]
    total: int
    limit: int
    offset: int
    next_cursor: str | None


class BackfillIn(Struct):
    dataset_slug: Annotated[str, Meta(max_length=200)]
    ohlcv_measurement: Name
    indicator_measurement: Name
    symbol: ShortText | None = None
    granularity: Annotated[str, Meta(max_length=16)] | None = None


class HierarchySimulation(Struct):
    simulation_id: str
    trades_measurement: str
    status: str
    trade_count: int
    summary_metrics: Json


class HierarchyRun(Struct):
    run_id: str
    prediction_measurement: str
    status: str
    fold_count: int
    summary_metrics: Json
    simulations: list[HierarchySimulation]


class HierarchyOut(Struct):
    dataset_id: str
    dataset_slug: str
    ohlcv_measurement: str
    indicator_measurement: str
    runs: list[HierarchyRun]


# ---------------------------------------------------------------- runs


class FoldIn(Struct, forbid_unknown_fields=False):
    fold_number: Annotated[int, Meta(ge=0, le=1_000_000)]
    train_start: Int64 | None = None
    train_end: Int64 | None = None
    test_start: Int64 | None = None
    test_end: Int64 | None = None
    train_start_ts: Int64 | None = None
    train_end_ts: Int64 | None = None
    test_start_ts: Int64 | None = None
    test_end_ts: Int64 | None = None
    thresholds: dict[str, float] = {}
    metrics: Json = {}


class RunIn(Struct, forbid_unknown_fields=False):
    dataset_id: Annotated[str, Meta(max_length=200)] | None = None
    dataset_slug: Annotated[str, Meta(max_length=200)] | None = None
    run_id: str | None = None
    prediction_measurement: Name | None = None
    status: RunStatusName = "COMPLETED"
    target_column: ShortText | None = None
    feature_columns: list[ShortText] = []
    walk_config: Json = {}
    hyperparameters: Json = {}
    summary_metrics: Json = {}
    folds: Annotated[list[FoldIn], Meta(max_length=100_000)] = []
    fold_count: Annotated[int, Meta(ge=0, le=1_000_000)] | None = None
    clipboard_text: LongText | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    predictions: list[Json] | None = None
    predictions_csv: str | None = None


class FoldOut(Struct):
    fold_number: int
    train_start: int | None
    train_end: int | None
    test_start: int | None
    test_end: int | None
    train_start_ts: int | None
    train_end_ts: int | None
    test_start_ts: int | None
    test_end_ts: int | None
    thresholds: dict[str, float]
    metrics: Json


class RunSummaryOut(Struct):
    run_id: str
    dataset_id: str
    dataset_slug: str
    prediction_measurement: str
    status: str
    target_column: str | None
    fold_count: int
    started_at: datetime | None
    completed_at: datetime | None
    created_at: datetime


class RunLinks(Struct):
    predictions: str


class RunOut(RunSummaryOut):
    feature_columns: list[str]
    walk_config: Json
    hyperparameters: Json
    summary_metrics: Json
    clipboard_text: str | None
    folds: list[FoldOut]
    links: RunLinks


class RunPage(Struct):
    runs: list[RunSummaryOut]
    total: int
    limit: int
    offset: int
    next_cursor: str | None


class RunSavedOut(Struct):
    run_id: str
    prediction_measurement: str
    questdb_rows_written: int


# ---------------------------------------------------------------- simulations


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


class SimulationLinks(Struct):
    trades: str
    equity: str


class SimulationOut(SimulationSummaryOut):
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


# ---------------------------------------------------------------- questdb


class ImportJsonIn(Struct, forbid_unknown_fields=False):
    measurement: Name
    data: str
    kind: FrameKindName = "generic"
    mode: ModeName = "append"


class ImportOut(Struct):
    measurement: str
    rows_written: int
    first_ts: int | None
    last_ts: int | None
    duration_ms: int


class JobAcceptedOut(Struct):
    job_id: str
    status: str
    message: str
    poll_url: str


class ColumnOut(Struct):
    name: str
    type: str
    indexed: bool
    designated: bool


class MeasurementOut(Struct):
    name: str
    row_count: int
    first_ts: int | None
    last_ts: int | None
    designated_timestamp: str | None
    partition_by: str | None


class MeasurementPage(Struct):
    measurements: list[MeasurementOut]
    total: int
    limit: int
    offset: int
    next_cursor: str | None


class MeasurementDetailOut(MeasurementOut):
    columns: list[ColumnOut]
    dedup_keys: list[str]
    partition_count: int | None
    sample: list[Json]


class QueryIn(Struct, forbid_unknown_fields=False):
    sql: Annotated[str, Meta(max_length=100_000)]
    limit: Annotated[int, Meta(ge=1, le=100_000)] = 1000
    timeout: Annotated[float, Meta(gt=0, le=3600)] = 60.0


class ExportIn(Struct, forbid_unknown_fields=False):
    sql: Annotated[str, Meta(max_length=100_000)]
    format: Literal["csv", "json", "ndjson", "arrow"] = "csv"
    timeout: Annotated[float, Meta(gt=0, le=3600)] = 60.0
    ts_unit: Literal["s", "ms", "us", "ns", "iso"] = "ms"


class QueryColumn(Struct):
    name: str
    type: str


class QueryOut(Struct):
    columns: list[QueryColumn]
    rows: list[list[Any]]
    count: int


# ---------------------------------------------------------------- jobs


class JobOut(Struct):
    job_id: str
    type: str
    status: str
    payload: Json
    progress: int
    total: int | None
    message: str | None
    result: Json | None
    error: str | None
    attempts: int
    max_attempts: int
    priority: int
    worker_id: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


class JobPage(Struct):
    jobs: list[JobOut]
    total: int
    limit: int
    offset: int
    next_cursor: str | None


# ---------------------------------------------------------------- operations


class HealthOut(Struct):
    status: str
    metadata: Json
    timeseries: Json
    jobs: dict[str, int]
    version: str
