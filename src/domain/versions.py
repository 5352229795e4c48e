"""Dataset versions: a fingerprint of a dataset's rows per change, and what makes a saved result stale.

A version is a fingerprint, not a snapshot: it records counts, bounds and checksums of the rows a dataset
held after a change, and the earliest bar the change touched; the old rows themselves are not kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from domain.datasets import Dataset, FrameHoldings
from domain.frames import FrameKind
from domain.values import nanos_to_seconds


@dataclass(slots=True)
class DatasetVersion(FrameHoldings):
    dataset_id: UUID
    version: int
    created_at: datetime
    ohlcv_checksum: str | None = None
    indicator_checksum: str | None = None
    # The earliest bar (epoch s) whose row this change added, removed or altered; null when unknown
    # (a change recorded without the rows at hand), which counts as touching every bar.
    changed_from_ts: int | None = None

    def checksum_of(self, kind: FrameKind) -> str | None:
        return self.ohlcv_checksum if kind is FrameKind.OHLCV else self.indicator_checksum

    @property
    def last_bar_ts(self) -> int | None:
        """The last bar a record saved against this version can have used."""
        bounds = [ts for ts in (self.ohlcv_last_ts, self.indicator_last_ts) if ts is not None]
        return max(bounds) if bounds else None


@dataclass(frozen=True, slots=True)
class FrameChange:
    """What one write did to one frame: its checksum after, and the earliest bar (epoch ns) that differs
    from before (None: the frame holds exactly the rows it held)."""

    kind: FrameKind
    checksum: str
    changed_from_ns: int | None


def next_version(
    dataset: Dataset, latest: DatasetVersion | None, changes: Sequence[FrameChange], now: datetime
) -> DatasetVersion | None:
    """The version `changes` make, or None when every frame holds the rows it held (nothing to record).

    `dataset` already carries the counts and bounds the store reported after the write."""
    touched = [change.changed_from_ns for change in changes if change.changed_from_ns is not None]
    if not touched and latest is not None:
        return None
    if not touched and dataset.ohlcv_rows == 0 and dataset.indicator_rows == 0:
        return None
    checksums = {kind: None if latest is None else latest.checksum_of(kind) for kind in FrameKind}
    for change in changes:
        checksums[change.kind] = change.checksum
    version = DatasetVersion(
        dataset_id=dataset.dataset_id,
        version=(0 if latest is None else latest.version) + 1,
        created_at=now,
        ohlcv_rows=dataset.ohlcv_rows,
        indicator_rows=dataset.indicator_rows,
        ohlcv_first_ts=dataset.ohlcv_first_ts,
        ohlcv_last_ts=dataset.ohlcv_last_ts,
        indicator_first_ts=dataset.indicator_first_ts,
        indicator_last_ts=dataset.indicator_last_ts,
        ohlcv_checksum=checksums[FrameKind.OHLCV],
        indicator_checksum=checksums[FrameKind.INDICATORS],
        changed_from_ts=nanos_to_seconds(min(touched)) if touched else None,
    )
    dataset.version = version.version
    return version


@dataclass(frozen=True, slots=True)
class Staleness:
    stale: bool = False
    reason: str | None = None


def is_stale_by(later: DatasetVersion, saved: DatasetVersion) -> bool:
    """`later` changed a bar at or before the last bar a record saved against `saved` used."""
    last_bar = saved.last_bar_ts
    if later.changed_from_ts is None or last_bar is None:
        return True
    return later.changed_from_ts <= last_bar


def staleness(saved_version: int | None, history: Iterable[DatasetVersion], noun: str) -> Staleness:
    """Whether a run or simulation saved against `saved_version` of a dataset with `history` is stale.

    Stale when a later version changed rows at or before the last bar the record used; bars appended
    after it leave it fresh (the reason then says so). A record saved before the dataset held rows used
    none, so nothing makes it stale."""
    versions = {v.version: v for v in history}
    saved = versions.get(saved_version or 0)
    later = sorted((v for n, v in versions.items() if n > (saved_version or 0)), key=lambda v: v.version)
    if saved is None or not later:
        return Staleness()
    for version in later:
        if is_stale_by(version, saved):
            where = "rows" if version.changed_from_ts is None else f"bars from {_iso(version.changed_from_ts)} on"
            return Staleness(
                True,
                f"dataset version {version.version} changed {where}, at or before the last bar this {noun} "
                f"used (saved against version {saved.version})",
            )
    return Staleness(
        False,
        f"newer bars appended in dataset version {later[-1].version} (saved against version {saved.version})",
    )


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
