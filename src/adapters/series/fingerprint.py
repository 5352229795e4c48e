"""Row fingerprints of a measurement, equal for equal rows whichever store holds them.

Each row hashes to 64 bits from its timestamp (whole microseconds, the finest every store keeps) and its
non-null cells by column name (numbers as float64, text by BLAKE2b), so column order, an integer stored
as a double and a column that is null everywhere make no difference. The checksum of a frame is the
sum of its row hashes modulo 2**64: rows taken as a set keyed by timestamp, so an append can update it
from the rows it adds and replaces alone. Two fingerprints also tell the earliest timestamp at which
their rows differ (the `changed_from_ts` of a dataset version).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from application.series_ports import RangeQuery, SeriesCatalog, SeriesReader
from domain.frames import TIMESTAMP
from domain.values import MeasurementName

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)
# A full read of a big measurement may take a while; it runs once per write of a dataset's frame.
READ_TIMEOUT = 600.0


def _mix(values: np.ndarray[Any, np.dtype[np.uint64]]) -> np.ndarray[Any, np.dtype[np.uint64]]:
    """splitmix64's finalizer, element-wise (uint64 arithmetic wraps, which is the point)."""
    with np.errstate(over="ignore"):
        z = values + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _text_hash(value: str) -> int:
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "little")


def _seed(name: str) -> np.uint64:
    return np.uint64(_text_hash(name))


def _bits(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """A column's cells as uint64 words, and which cells hold a value (null and NaN hold none)."""
    kind = column.type
    if pa.types.is_timestamp(kind):
        micros = pc.cast(column, pa.timestamp("us"), safe=False).cast(pa.int64())
        words = micros.to_numpy(zero_copy_only=False).astype(np.int64).view(np.uint64)
        return words, np.asarray(micros.is_valid())
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_dictionary(kind):
        texts = column.cast(pa.string()).to_pylist()
        words = np.fromiter((0 if t is None else _text_hash(t) for t in texts), np.uint64, len(texts))
        return words, np.fromiter((t is not None for t in texts), bool, len(texts))
    floats = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64)
    present = ~np.isnan(floats)
    floats = np.where(floats == 0.0, 0.0, floats)  # -0.0 and 0.0 are one value
    return floats.view(np.uint64), present


def row_hashes(table: pa.Table) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(timestamps in µs, row hashes), both int64/uint64 arrays in the table's row order."""
    stamps, _ = _bits(table.column(TIMESTAMP))
    acc = _mix(stamps)
    with np.errstate(over="ignore"):
        for name in table.column_names:
            if name == TIMESTAMP:
                continue
            words, present = _bits(table.column(name))
            acc = acc + np.where(present, _mix(_seed(name) ^ _mix(words)), np.uint64(0))
    return stamps.view(np.int64), _mix(acc)


class Fingerprint:
    """A frame's rows as (timestamp, hash) pairs sorted by timestamp, and their checksum."""

    def __init__(self, stamps: np.ndarray[Any, Any], hashes: np.ndarray[Any, Any]) -> None:
        order = np.lexsort((hashes, stamps))
        self._stamps = stamps[order]
        self._hashes = hashes[order]
        total = int(self._hashes.sum(dtype=np.uint64)) if len(self._hashes) else 0
        self.checksum = f"{total & int(_MASK):016x}"

    @classmethod
    def of(cls, table: pa.Table | None) -> Fingerprint:
        if table is None or table.num_rows == 0:
            return cls(np.empty(0, np.int64), np.empty(0, np.uint64))
        return cls(*row_hashes(table))

    def first_difference(self, before: Fingerprint) -> int | None:
        """The earliest timestamp (epoch ns) with a row in one frame and not the other; None if equal."""
        if np.array_equal(self._stamps, before._stamps) and np.array_equal(self._hashes, before._hashes):
            return None
        pairs = np.dtype([("ts", np.int64), ("h", np.uint64)])
        mine = np.unique(np.rec.fromarrays([self._stamps, self._hashes], dtype=pairs))
        theirs = np.unique(np.rec.fromarrays([before._stamps, before._hashes], dtype=pairs))
        both, counts = np.unique(np.concatenate([mine, theirs]), return_counts=True)
        differing = both[counts == 1]
        if len(differing) == 0:
            return None
        return int(differing["ts"].min()) * 1000


async def fingerprint_of(store: SeriesReader, catalog: SeriesCatalog, measurement: MeasurementName) -> Fingerprint:
    """The rows `measurement` holds now, read back from the store (an empty one when it does not exist)."""
    if await catalog.describe(measurement) is None:
        return Fingerprint.of(None)
    batches = [batch async for batch in store.read(RangeQuery(measurement=measurement, timeout=READ_TIMEOUT))]
    return Fingerprint.of(pa.Table.from_batches(batches) if batches else None)


class ReadBackFingerprints:
    """`RowFingerprints` for a store that is its own reader and catalog: mixed into every store class."""

    async def fingerprint(self, measurement: MeasurementName) -> Fingerprint:
        return await fingerprint_of(self, self, measurement)  # type: ignore[arg-type,unused-ignore]
