"""Walk-forward runs and their folds on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import Meta

from entrypoints.http.schemas.common import (
    Int64,
    Json,
    Label,
    LongText,
    Name,
    Notes,
    RunStatusName,
    ShortText,
    Struct,
    Tags,
)


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
    name: Label | None = None
    tags: Tags = {}
    notes: Notes | None = None


class PredictionsIn(Struct, forbid_unknown_fields=False):
    """Rows appended to a run: the same inline forms as on create."""

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
    name: str | None
    tags: dict[str, str]
    dataset_version: int | None


class RunLinks(Struct):
    predictions: str


class RunOut(RunSummaryOut):
    feature_columns: list[str]
    walk_config: Json
    hyperparameters: Json
    summary_metrics: Json
    clipboard_text: str | None
    notes: str | None
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
