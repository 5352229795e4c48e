"""What the entrypoints ask the use cases to do. The API builds these from its request bodies; a job
stores one as its payload and the worker decodes it back, so the worker never needs the API's schemas."""

from __future__ import annotations

import dataclasses
from typing import Any
from uuid import UUID

import msgspec

from application.idempotency import IdempotencyKey
from application.series_ports import FrameUpload
from domain.datasets import DatasetChanges
from domain.frames import FrameKind, OnError, WriteMode
from domain.runs import RunDetails
from domain.simulations import SimulationDetails, TradeBucket


class Command(msgspec.Struct):
    """`msgspec.to_builtins(command)` is what a job stores; `msgspec.convert(payload, type)` reads it back."""


class ImportFrame(Command):
    measurement: str
    upload: FrameUpload
    kind: FrameKind | None = None  # None: the owner's kind in a measurement a record owns, else generic
    mode: WriteMode = WriteMode.APPEND
    idempotency: IdempotencyKey | None = None
    on_error: OnError = OnError.FAIL
    # The bar length a dry run measures gaps against.
    granularity: str | None = None


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


class PreviewDatasetFrames(Command):
    """A dry run of a dataset save or frame upload: `changes` are the fields a create or upsert would set."""

    dataset_ref: str
    frames: dict[FrameKind, FrameUpload]
    changes: DatasetChanges = msgspec.field(default_factory=DatasetChanges)
    # Gaps are measured against this, else the granularity the save sets, else the dataset's own.
    granularity: str | None = None


class BackfillDataset(Command):
    dataset_slug: str
    symbol: str | None
    granularity: str | None
    ohlcv_measurement: str
    indicator_measurement: str


class SaveRun(Command):
    dataset_ref: str
    details: RunDetails = msgspec.field(default_factory=RunDetails)
    prediction_measurement: str | None = None
    run_id: UUID | None = None
    predictions: FrameUpload | None = None
    idempotency: IdempotencyKey | None = None


class AppendPredictions(Command):
    run_ref: str
    predictions: FrameUpload
    idempotency: IdempotencyKey | None = None


class SaveSimulation(Command):
    run_ref: str
    details: SimulationDetails = msgspec.field(default_factory=SimulationDetails)
    trades_measurement: str | None = None
    # Without trades the client's own count and buckets stand; with trades they are computed.
    trade_buckets: list[TradeBucket] | None = None
    trade_count: int | None = None
    simulation_id: UUID | None = None
    trades: FrameUpload | None = None
    idempotency: IdempotencyKey | None = None


class DropMeasurements(Command):
    """Measurements whose records were deleted: each is dropped and its name freed, once (see `deletion`)."""

    measurements: list[str]


def described(details: Any) -> dict[str, Any]:
    """The fields of a details dataclass by name, shallow: what the client told, for the use case to
    complete with what the service decides (ids, measurement, times)."""
    return {f.name: getattr(details, f.name) for f in dataclasses.fields(details)}


# What a worker can be asked to run: each carries the client's key only until the job is queued.
JobCommand = ImportFrame | UploadDatasetFrames | SaveRun | SaveSimulation
