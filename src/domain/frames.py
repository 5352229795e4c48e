"""What each kind of time-series frame must carry, and the order its columns go out in."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Final

from domain.errors import InvalidInput


class FrameKind(StrEnum):
    OHLCV = "ohlcv"
    INDICATORS = "indicators"
    PREDICTIONS = "predictions"
    TRADES = "trades"
    GENERIC = "generic"


class WriteMode(StrEnum):
    APPEND = "append"
    REPLACE = "replace"


class OnError(StrEnum):
    """What a bad row does to an import: fail it whole (nothing written), or be left out and reported."""

    FAIL = "fail"
    SKIP = "skip"


# Input may name the time column either way; inside the service it is always `timestamp`.
TIMESTAMP_ALIASES: Final = ("timestamp", "timestamp_unix", "bar_timestamp")
TIMESTAMP: Final = "timestamp"

REQUIRED_COLUMNS: Final[dict[FrameKind, tuple[str, ...]]] = {
    FrameKind.OHLCV: ("open", "high", "low", "close", "volume"),
    FrameKind.INDICATORS: (),
    FrameKind.PREDICTIONS: ("bar_index", "fold_number", "prediction", "target"),
    FrameKind.TRADES: ("side", "entry_price", "exit_price", "pnl"),
    FrameKind.GENERIC: (),
}

# Columns that, with the timestamp, identify a row: QuestDB's DEDUP UPSERT KEYS, so a retried write
# replaces rows instead of doubling them.
DEDUP_KEYS: Final[dict[FrameKind, tuple[str, ...]]] = {
    FrameKind.OHLCV: (),
    FrameKind.INDICATORS: (),
    FrameKind.PREDICTIONS: ("fold_number",),
    FrameKind.TRADES: ("trade_id",),
    FrameKind.GENERIC: (),
}

PREDICTION_LEADING_COLUMNS: Final = ("timestamp", "bar_index", "fold_number", "prediction", "target")
TRADE_TIME_COLUMNS: Final = ("bar_timestamp", "entry_timestamp", "exit_timestamp")
TRADE_COLUMNS: Final = (
    "trade_id",
    "bar_timestamp",
    "entry_timestamp",
    "exit_timestamp",
    "side",
    "entry_price",
    "exit_price",
    "quantity",
    "pnl",
    "return_pct",
    "fees",
    "fold_number",
)


def timestamp_column(found: Sequence[str]) -> str | None:
    """The input column that carries the row time, by the contract's preference."""
    for alias in TIMESTAMP_ALIASES:
        if alias in found:
            return alias
    return None


def check_columns(kind: FrameKind, found: Sequence[str]) -> None:
    """Refuse the frame, listing what is missing and what was found."""
    missing = [name for name in REQUIRED_COLUMNS[kind] if name not in found]
    if timestamp_column(found) is None:
        # A trade's row time is its bar's: name the field a trade has, not the column it is stored as.
        missing.insert(0, "bar_timestamp" if kind is FrameKind.TRADES else TIMESTAMP)
    if missing:
        raise InvalidInput(
            f"{kind.value} frame is missing columns: {', '.join(missing)}",
            {"missing_columns": missing, "found_columns": list(found)},
        )


# Frames with gaps worth reporting: bars at a fixed step.
BAR_KINDS: Final = (FrameKind.OHLCV, FrameKind.INDICATORS)


def infer_kind(found: Sequence[str]) -> FrameKind:
    """The kind whose required columns a header carries (OHLCV first, the desktop's usual file); else generic."""
    names = {name.strip().lower() for name in found}
    if timestamp_column(sorted(names)) is not None:
        for kind in (FrameKind.OHLCV, FrameKind.PREDICTIONS, FrameKind.TRADES):
            if set(REQUIRED_COLUMNS[kind]) <= names:
                return kind
    return FrameKind.GENERIC


def prediction_column_order(columns: Iterable[str]) -> list[str]:
    """`timestamp, bar_index, fold_number, prediction, target`, then thresholds as uploaded, then the rest."""
    present = list(columns)
    leading = [name for name in PREDICTION_LEADING_COLUMNS if name in present]
    rest = [name for name in present if name not in PREDICTION_LEADING_COLUMNS]
    thresholds = [name for name in rest if name.startswith("threshold")]
    others = [name for name in rest if not name.startswith("threshold")]
    return leading + thresholds + others
