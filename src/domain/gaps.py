"""Missing bars: where a time series skips steps of its granularity.

The first thing a quant checks in a new file is whether bars are missing. A gap is two consecutive distinct
bar times further apart than one bar; the bars missing in it are the steps that would fit between them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from domain.values import validate_granularity

# Calendar units (month, year) have no fixed length: no gaps are computed against them.
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
LARGEST_KEPT: Final = 100


def granularity_seconds(granularity: str) -> int | None:
    """The length of one bar in seconds (`1h` -> 3600); None for calendar units (`1M`, `1y`)."""
    text = validate_granularity(granularity)
    unit = _UNIT_SECONDS.get(text[-1])
    return None if unit is None else int(text[:-1]) * unit


@dataclass(frozen=True, slots=True)
class Gap:
    """Bars missing between the bar at `after_ts` and the next one, at `before_ts` (epoch seconds)."""

    after_ts: int
    before_ts: int
    missing_bars: int


@dataclass(frozen=True, slots=True)
class GapReport:
    interval_s: int
    count: int = 0
    missing_bars: int = 0
    # The largest gaps first (ties: the earliest first), at most LARGEST_KEPT of them.
    largest: list[Gap] = field(default_factory=list)


def missing_between(earlier: int, later: int, interval_s: int) -> int:
    """Bars that fit strictly between two bar times: a step of 1.5 bars still hides one bar."""
    steps = -(-(later - earlier) // interval_s)  # ceiling division
    return max(steps - 1, 0)


def find_gaps(times: Iterable[int], interval_s: int, keep: int = LARGEST_KEPT) -> GapReport:
    """Gaps in bar times (epoch seconds, in any order, repeats allowed) against bars of `interval_s`."""
    if interval_s <= 0:
        raise ValueError("interval_s must be positive")
    gaps: list[Gap] = []
    previous: int | None = None
    for current in sorted(set(times)):
        if previous is not None:
            missing = missing_between(previous, current, interval_s)
            if missing:
                gaps.append(Gap(previous, current, missing))
        previous = current
    largest = sorted(gaps, key=lambda gap: (-gap.missing_bars, gap.after_ts))[: max(keep, 0)]
    return GapReport(
        interval_s=interval_s,
        count=len(gaps),
        missing_bars=sum(gap.missing_bars for gap in gaps),
        largest=largest,
    )
