"""What the entrypoints ask the use cases to do. The API builds these from its request bodies; a job
stores one as its payload and the worker decodes it back, so the worker never needs the API's schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from application.idempotency import IdempotencyKey
from application.ports import FrameUpload
from domain.datasets import DatasetChanges
from domain.frames import FrameKind, WriteMode
from domain.runs import Fold, RunStatus
from domain.simulations import SimulationStatus, TradeBucket


class Command(msgspec.Struct):
    """`msgspec.to_builtins(command)` is what a job stores; `msgspec.convert(payload, type)` reads it back."""


class ImportFrame(Command):
    measurement: str
    upload: FrameUpload
    kind: FrameKind = FrameKind.GENERIC
    mode: WriteMode = WriteMode.APPEND
    idempotency: IdempotencyKey | None = None


class UpsertDataset(Command):
    dataset_slug: str
    changes: DatasetChanges
    frames: dict[FrameKind, FrameUpload] = {}
    mode: WriteMode = WriteMode.APPEND
    idempotency: IdempotencyKey | None = None


class UploadDatasetFrames(Command):
    """OHLCV and/or indicator frames for a dataset that exists."""

    dataset_ref: str
    frames: dict[FrameKind, FrameUpload]
    mode: WriteMode = WriteMode.APPEND
    idempotency: IdempotencyKey | None = None


class BackfillDataset(Command):
    dataset_slug: str
    symbol: str | None
    granularity: str | None
    ohlcv_measurement: str
    indicator_measurement: str


class SaveRun(Command):
    dataset_ref: str
    status: RunStatus = RunStatus.COMPLETED
    prediction_measurement: str | None = None
    target_column: str | None = None
    feature_columns: list[str] = []
    walk_config: dict[str, Any] = {}
    hyperparameters: dict[str, Any] = {}
    summary_metrics: dict[str, Any] = {}
    folds: list[Fold] = []
    fold_count: int | None = None
    clipboard_text: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    run_id: UUID | None = None
    name: str | None = None
    tags: dict[str, str] = {}
    notes: str | None = None
    predictions: FrameUpload | None = None
    idempotency: IdempotencyKey | None = None


class SaveSimulation(Command):
    run_ref: str
    status: SimulationStatus = SimulationStatus.COMPLETED
    trades_measurement: str | None = None
    config: dict[str, Any] = {}
    summary_metrics: dict[str, Any] = {}
    trade_buckets: list[TradeBucket] | None = None
    trade_count: int | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    simulation_id: UUID | None = None
    name: str | None = None
    tags: dict[str, str] = {}
    notes: str | None = None
    trades: FrameUpload | None = None
    idempotency: IdempotencyKey | None = None


# What a worker can be asked to run: each carries the client's key only until the job is queued.
JobCommand = ImportFrame | UploadDatasetFrames | SaveRun | SaveSimulation
