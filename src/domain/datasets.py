"""The dataset triplet: an OHLCV series and an indicator series registered under one slug."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.errors import InvalidInput
from domain.frames import FrameKind
from domain.values import MeasurementName, Slug, nanos_to_seconds, validate_granularity


@dataclass(frozen=True, slots=True)
class FrameStats:
    """What the time-series store holds for one measurement: its row count and time bounds (epoch ns)."""

    row_count: int
    first_ns: int | None
    last_ns: int | None


@dataclass(slots=True)
class DatasetChanges:
    """The triplet fields a client may set; `None` leaves a field as it is."""

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
    metadata: dict[str, Any] | None = None


@dataclass(slots=True, kw_only=True)
class FrameHoldings:
    """What a dataset's two measurements hold: row counts and first/last bars (epoch seconds).

    A dataset carries them as they are now, each of its versions as they were after a change. Not frozen: a
    dataset is revised in place, and a dataclass cannot be frozen on one side of an inheritance only."""

    ohlcv_rows: int = 0
    indicator_rows: int = 0
    ohlcv_first_ts: int | None = None
    ohlcv_last_ts: int | None = None
    indicator_first_ts: int | None = None
    indicator_last_ts: int | None = None


@dataclass(slots=True)
class Dataset(FrameHoldings):
    dataset_id: UUID
    dataset_slug: Slug
    ohlcv_measurement: MeasurementName
    indicator_measurement: MeasurementName
    created_at: datetime
    updated_at: datetime
    symbol: str | None = None
    granularity: str | None = None
    source: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    # The latest version of its rows (domain/versions.py); 0 while it has none.
    version: int = 0

    @classmethod
    def register(cls, dataset_id: UUID, slug: Slug, changes: DatasetChanges, now: datetime) -> Dataset:
        dataset = cls(
            dataset_id=dataset_id,
            dataset_slug=slug,
            ohlcv_measurement=default_ohlcv_measurement(slug),
            indicator_measurement=default_indicator_measurement(slug),
            created_at=now,
            updated_at=now,
        )
        dataset.revise(changes, now)
        return dataset

    def revise(self, changes: DatasetChanges, now: datetime) -> None:
        """Apply the fields the client sent; the slug and id never change."""
        if changes.granularity is not None:
            self.granularity = validate_granularity(changes.granularity)
        for name in ("symbol", "source"):
            value = getattr(changes, name)
            if value is not None:
                setattr(self, name, _bounded_text(name, value))
        if changes.ohlcv_measurement is not None:
            self.ohlcv_measurement = MeasurementName(changes.ohlcv_measurement, "ohlcv_measurement")
        if changes.indicator_measurement is not None:
            self.indicator_measurement = MeasurementName(changes.indicator_measurement, "indicator_measurement")
        for name in ("ohlcv_rows", "indicator_rows"):
            value = getattr(changes, name)
            if value is not None:
                if value < 0:
                    raise InvalidInput(f"{name} must not be negative", {"field": name})
                setattr(self, name, value)
        for name in ("ohlcv_first_ts", "ohlcv_last_ts", "indicator_first_ts", "indicator_last_ts"):
            value = getattr(changes, name)
            if value is not None:
                setattr(self, name, value)
        if changes.metadata is not None:
            self.metadata = dict(changes.metadata)
        self.updated_at = now

    def record_frame(self, kind: FrameKind, stats: FrameStats, now: datetime) -> None:
        """Counts and bounds come from the store, never from the client, once data was written."""
        first = None if stats.first_ns is None else nanos_to_seconds(stats.first_ns)
        last = None if stats.last_ns is None else nanos_to_seconds(stats.last_ns)
        if kind is FrameKind.OHLCV:
            self.ohlcv_rows, self.ohlcv_first_ts, self.ohlcv_last_ts = stats.row_count, first, last
        elif kind is FrameKind.INDICATORS:
            self.indicator_rows, self.indicator_first_ts, self.indicator_last_ts = stats.row_count, first, last
        else:
            raise ValueError(f"a dataset holds ohlcv and indicators frames, not {kind}")
        self.updated_at = now

    def measurement_for(self, kind: FrameKind) -> MeasurementName:
        if kind is FrameKind.OHLCV:
            return self.ohlcv_measurement
        if kind is FrameKind.INDICATORS:
            return self.indicator_measurement
        raise ValueError(f"a dataset holds ohlcv and indicators frames, not {kind}")

    def stored_stats(self, kind: FrameKind) -> tuple[int, int | None, int | None]:
        if kind is FrameKind.OHLCV:
            return self.ohlcv_rows, self.ohlcv_first_ts, self.ohlcv_last_ts
        return self.indicator_rows, self.indicator_first_ts, self.indicator_last_ts

    def in_sync_with(self, kind: FrameKind, stats: FrameStats | None) -> bool:
        """The store's count and bounds equal the ones recorded here."""
        rows, first, last = self.stored_stats(kind)
        if stats is None:
            return rows == 0
        first_s = None if stats.first_ns is None else nanos_to_seconds(stats.first_ns)
        last_s = None if stats.last_ns is None else nanos_to_seconds(stats.last_ns)
        return (stats.row_count, first_s, last_s) == (rows, first, last)


def dataset_event(dataset: Dataset) -> dict[str, Any]:
    """What a `dataset.updated` event says of the dataset."""
    return {"dataset_id": str(dataset.dataset_id), "dataset_slug": str(dataset.dataset_slug)}


def default_ohlcv_measurement(slug: Slug) -> MeasurementName:
    return MeasurementName(f"{slug}_ohlcv")


def default_indicator_measurement(slug: Slug) -> MeasurementName:
    return MeasurementName(f"{slug}_ind")


MAX_TEXT = 256


def _bounded_text(name: str, value: str) -> str:
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"{name} is longer than {MAX_TEXT} characters", {"field": name})
    return value
