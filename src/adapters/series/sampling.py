"""Downsampling buckets and aggregates, and how a measurement is partitioned, for every store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from adapters.series.schema import FLOAT_TYPES, INTEGER_TYPES, TIME_TYPES
from application.series_ports import SampleBy
from domain.errors import InvalidInput
from domain.frames import TIMESTAMP, FrameKind
from domain.values import validate_granularity

AGGREGATES: Final = ("first", "last", "min", "max", "sum", "avg", "count")

# Width in microseconds of the units that have a fixed one; months and years follow the calendar.
FIXED_MICROS: Final = {"s": 1_000_000, "m": 60_000_000, "h": 3_600_000_000, "d": 86_400_000_000,
                       "w": 7 * 86_400_000_000}


@dataclass(frozen=True, slots=True)
class Bucket:
    """`count` units of `unit` (s, m, h, d, w, M, y), e.g. 4h."""

    count: int
    unit: str

    @classmethod
    def parse(cls, text: str) -> Bucket:
        try:
            validate_granularity(text)
        except InvalidInput as exc:
            raise InvalidInput("sample_by must look like 1h, 4h, 15m or 1d", {"field": "sample_by"}) from exc
        return cls(int(text[:-1]), text[-1])

    @property
    def text(self) -> str:
        return f"{self.count}{self.unit}"

    @property
    def micros(self) -> int | None:
        width = FIXED_MICROS.get(self.unit)
        return None if width is None else width * self.count


def aggregate_plan(sample: SampleBy, columns: Sequence[str], types: Mapping[str, str]) -> list[tuple[str, str]]:
    """(column, aggregate) for every selected column but `timestamp`, which becomes the bucket start."""
    chosen = [(name, sample.aggregates.get(name, sample.default).lower()) for name in columns if name != TIMESTAMP]
    if not chosen:
        raise InvalidInput("sample_by needs a column besides timestamp to aggregate", {"field": "columns"})
    unknown = sorted({aggregate for _, aggregate in chosen if aggregate not in AGGREGATES})
    if unknown:
        raise InvalidInput(
            f"unknown aggregates: {', '.join(unknown)}",
            {"field": "sample_by", "allowed": list(AGGREGATES)},
        )
    for name, aggregate in chosen:
        store_type = types[name].upper()
        numeric = store_type in INTEGER_TYPES or store_type in FLOAT_TYPES
        if (aggregate in ("sum", "avg") and not numeric) or (
            aggregate in ("min", "max") and not (numeric or store_type in TIME_TYPES)
        ):
            raise InvalidInput(
                f"{aggregate} does not apply to {name}, a {store_type} column",
                {"field": "sample_by", "column": name, "aggregate": aggregate},
            )
    return chosen


def partition_by(kind: FrameKind, granularity: str | None) -> str:
    """Partitions of a few hundred thousand to a few million rows.

    Second bars fill a day partition, minute and sub-4h bars a month, coarser bars a year. Predictions,
    trades and frames of unknown granularity go by month.
    """
    if granularity is None or kind in (FrameKind.PREDICTIONS, FrameKind.TRADES):
        return "MONTH"
    try:
        bucket = Bucket.parse(granularity)
    except InvalidInput:
        return "MONTH"
    if bucket.unit == "s":
        return "DAY"
    if bucket.unit == "m" or (bucket.unit == "h" and bucket.count < 4):
        return "MONTH"
    return "YEAR"
