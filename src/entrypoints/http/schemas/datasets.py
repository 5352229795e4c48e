"""Datasets on the wire: the triplet, its listing, detail and hierarchy."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import Meta

from entrypoints.http.schemas.common import Count, Int64, Json, Name, ShortText, Struct


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
