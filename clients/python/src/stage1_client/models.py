"""The service's records as msgspec structs. Field names are the contract's; fields added to the contract
later default to None, and unknown fields are ignored, so a newer server never breaks an older client."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

import msgspec

T = TypeVar("T")
Json = dict[str, Any]


class Record(msgspec.Struct, kw_only=True, omit_defaults=True, repr_omit_defaults=True):
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = msgspec.to_builtins(self)
        return out


class Dataset(Record):
    dataset_id: str
    dataset_slug: str
    symbol: str | None = None
    granularity: str | None = None
    source: str | None = None
    ohlcv_measurement: str | None = None
    indicator_measurement: str | None = None
    ohlcv_rows: int | None = None
    indicator_rows: int | None = None
    ohlcv_first_ts: int | None = None
    ohlcv_last_ts: int | None = None
    indicator_first_ts: int | None = None
    indicator_last_ts: int | None = None
    metadata: Json | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    related_runs: int | None = None
    related_simulations: int | None = None
    questdb_state: Json | None = None
    links: Json | None = None
    version: int | None = None


class Fold(Record):
    """A walk-forward fold: inclusive 0-based bar indexes, optional epoch-second bounds."""

    fold_number: int
    train_start: int | None = None
    train_end: int | None = None
    test_start: int | None = None
    test_end: int | None = None
    train_start_ts: int | None = None
    train_end_ts: int | None = None
    test_start_ts: int | None = None
    test_end_ts: int | None = None
    thresholds: dict[str, float] = {}
    metrics: Json = {}


class Run(Record):
    run_id: str
    dataset_id: str | None = None
    dataset_slug: str | None = None
    prediction_measurement: str | None = None
    status: str | None = None
    name: str | None = None
    tags: dict[str, str] | None = None
    notes: str | None = None
    target_column: str | None = None
    feature_columns: list[str] | None = None
    walk_config: Json | None = None
    hyperparameters: Json | None = None
    summary_metrics: Json | None = None
    fold_count: int | None = None
    clipboard_text: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    created_at: datetime | None = None
    folds: list[Fold] | None = None
    links: Json | None = None
    checks: Json | None = None
    dataset_version: int | None = None
    stale: bool | None = None
    stale_reason: str | None = None


class RunSaved(Record):
    run_id: str
    prediction_measurement: str
    questdb_rows_written: int
    checks: Json | None = None


class Simulation(Record):
    simulation_id: str
    run_id: str | None = None
    dataset_id: str | None = None
    trades_measurement: str | None = None
    status: str | None = None
    name: str | None = None
    tags: dict[str, str] | None = None
    notes: str | None = None
    config: Json | None = None
    summary_metrics: Json | None = None
    trade_count: int | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    created_at: datetime | None = None
    trade_buckets: list[Json] | None = None
    links: Json | None = None
    dataset_version: int | None = None
    stale: bool | None = None
    stale_reason: str | None = None


class SimulationSaved(Record):
    simulation_id: str
    trades_measurement: str
    questdb_rows_written: int


class EquityPoint(Record):
    timestamp: int
    equity: float
    drawdown: float


class Equity(Record):
    """The equity curve of a simulation, with the numbers a summary needs."""

    simulation_id: str
    initial_capital: float
    points: list[EquityPoint] = []

    @property
    def final_equity(self) -> float:
        return self.points[-1].equity if self.points else self.initial_capital

    @property
    def total_return(self) -> float:
        return self.final_equity / self.initial_capital - 1.0 if self.initial_capital else 0.0

    @property
    def max_drawdown(self) -> float:
        return max((abs(p.drawdown) for p in self.points), default=0.0)

    def summary(self) -> dict[str, float | int]:
        return {
            "initial_capital": self.initial_capital,
            "final_equity": self.final_equity,
            "total_return": self.total_return,
            "max_drawdown": self.max_drawdown,
            "points": len(self.points),
        }

    def to_frame(self, as_: str = "pandas") -> Any:
        import pyarrow as pa

        from stage1_client.frames import convert, with_utc_times

        table = pa.Table.from_pylist([msgspec.to_builtins(p) for p in self.points]) if self.points else pa.table({})
        return convert(with_utc_times(table), as_)  # type: ignore[arg-type]


class Job(Record):
    job_id: str
    type: str | None = None
    status: str | None = None
    payload: Any = None
    progress: int | None = None
    total: int | None = None
    message: str | None = None
    result: Any = None
    error: str | None = None
    attempts: int | None = None
    max_attempts: int | None = None
    priority: int | None = None
    worker_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("COMPLETED", "FAILED", "CANCELLED")


class ImportResult(Record):
    measurement: str
    rows_written: int
    first_ts: int | None = None
    last_ts: int | None = None
    duration_ms: int | None = None
    rejected_rows: int | None = None
    rejected: list[Json] | None = None


class Measurement(Record):
    name: str
    row_count: int | None = None
    first_ts: int | None = None
    last_ts: int | None = None
    designated_timestamp: str | None = None
    partition_by: str | None = None
    columns: list[Json] | None = None
    dedup_keys: list[str] | None = None
    partition_count: int | None = None
    sample: Any = None


class Token(Record):
    token_id: str | None = None
    name: str | None = None
    token: str | None = None
    created_at: datetime | None = None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class Event(Record):
    """One Server-Sent Event: its id (for resuming), type (`run.created`, ...) and JSON data."""

    id: str | None
    type: str
    data: Any


class Page(msgspec.Struct, Generic[T], kw_only=True):
    """One page of a list; iterate it like a list. `next_cursor` fetches the next page at constant cost."""

    items: list[T]
    total: int | None = None
    limit: int | None = None
    offset: int | None = None
    next_cursor: str | None = None

    def __iter__(self) -> Any:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> T:
        return self.items[index]
