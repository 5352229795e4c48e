"""One shape for every uploaded frame: `timestamp` first as timestamp[ns], known columns in their types.

Whatever the input format, a batch leaves here with the row time in a `timestamp` column of Arrow type
`timestamp[ns]` (naive, meaning UTC), every other time column (trade times, other aliases, columns typed
as times) coerced the same way, and the columns the contract names cast to their numeric types. A cell
that does not fit is a 400 naming its line (CSV) or row (everything else) and its column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from adapters.frames.positions import Position, first_cast_failure, first_true
from adapters.frames.timestamps import NANOS_TYPE, coerce_time_array
from domain.frames import (
    TIMESTAMP,
    TIMESTAMP_ALIASES,
    TRADE_TIME_COLUMNS,
    FrameKind,
    check_columns,
    timestamp_column,
)

FLOAT: Final = pa.float64()
INT: Final = pa.int64()
TEXT: Final = pa.string()

_CANONICAL: Final[dict[FrameKind, dict[str, pa.DataType]]] = {
    FrameKind.OHLCV: {name: FLOAT for name in ("open", "high", "low", "close", "volume")},
    FrameKind.PREDICTIONS: {"bar_index": INT, "fold_number": INT, "prediction": FLOAT, "target": FLOAT},
    FrameKind.TRADES: {
        "trade_id": INT,
        "fold_number": INT,
        "side": TEXT,
        **{name: FLOAT for name in ("entry_price", "exit_price", "quantity", "pnl", "return_pct", "fees")},
    },
}
SIDES: Final = ("long", "short")

_CAST_ERRORS: Final = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError)


def canonical_type(kind: FrameKind, name: str) -> pa.DataType | None:
    """The type the contract fixes for a column of this kind, if any."""
    fixed = _CANONICAL.get(kind, {}).get(name)
    if fixed is None and kind is FrameKind.PREDICTIONS and name.startswith("threshold"):
        return FLOAT
    return fixed


def is_time_like(kind: pa.DataType) -> bool:
    return bool(pa.types.is_timestamp(kind) or pa.types.is_date(kind))


@dataclass(slots=True)
class FramePlan:
    """What to do with each input column of one upload, decided once from its header."""

    kind: FrameKind
    names: list[str]
    source: str
    time_columns: frozenset[str]
    widen_to_float: frozenset[str] = frozenset()
    null_to_text: frozenset[str] = frozenset()
    # Columns read as text that must become this type here, row by row (a CSV read to skip bad cells).
    recast: dict[str, pa.DataType] = field(default_factory=dict)
    next_trade_id: int = 1

    @classmethod
    def for_schema(
        cls,
        kind: FrameKind,
        schema: pa.Schema,
        time_typed: Sequence[str] = (),
        recast: dict[str, pa.DataType] | None = None,
    ) -> FramePlan:
        """Checks the header (400 listing missing and found columns) and plans the conversions.

        `time_typed` names columns that hold times although their input type does not say so
        (CSV columns the reader recognised as timestamps but we read as text to parse ourselves).
        """
        names = [name.strip() for name in schema.names]
        check_columns(kind, names)
        source = timestamp_column(names)
        assert source is not None
        types = dict(zip(names, schema.types, strict=True))
        times = {name for name in names if name in TIMESTAMP_ALIASES}
        if kind is FrameKind.TRADES:
            times |= {name for name in names if name in TRADE_TIME_COLUMNS}
        times |= {name for name in names if is_time_like(types[name])}
        times |= set(time_typed)
        untyped = [n for n in names if n not in times and canonical_type(kind, n) is None]
        widen = set()
        null_text = set()
        for name in untyped:
            kind_of = types[name]
            if kind is FrameKind.INDICATORS and (pa.types.is_integer(kind_of) or pa.types.is_null(kind_of)):
                # Indicators are numbers; an integer first block must not pin a later 0.5 as an error.
                widen.add(name)
            elif pa.types.is_null(kind_of):
                null_text.add(name)
        return cls(
            kind=kind,
            names=names,
            source=source,
            time_columns=frozenset(times),
            widen_to_float=frozenset(widen),
            null_to_text=frozenset(null_text),
            recast={name: kind_of for name, kind_of in (recast or {}).items() if name not in times},
        )

    def output_columns(self) -> list[str]:
        out = [TIMESTAMP]
        if self.kind is FrameKind.TRADES and "trade_id" not in self.names:
            out.append("trade_id")
        # A column without a name is a dataframe index written out by pandas: nothing can address or
        # store it, so it is left behind.
        out.extend(name for name in self.names if name and (name != self.source or self._keeps_source()))
        if self.kind is FrameKind.TRADES and "bar_timestamp" not in out:
            out.append("bar_timestamp")
        return out

    def _keeps_source(self) -> bool:
        """A trade's `bar_timestamp` stays, next to `timestamp`; other time sources are renamed."""
        return self.kind is FrameKind.TRADES and self.source == "bar_timestamp"

    def normalize(self, batch: pa.RecordBatch, position: Position) -> pa.RecordBatch:
        columns = dict(zip(self.names, batch.columns, strict=True))
        row_time = coerce_time_array(columns[self.source], self.source, position, required=True)
        converted: dict[str, pa.Array] = {TIMESTAMP: row_time}
        for name, values in columns.items():
            if not name:
                continue
            if name == self.source:
                if self._keeps_source():
                    converted[name] = row_time
                continue
            converted[name] = self._convert(name, values, position)
        if self.kind is FrameKind.TRADES:
            converted.setdefault("bar_timestamp", row_time)
            if "trade_id" not in converted:
                start = self.next_trade_id
                converted["trade_id"] = pa.array(range(start, start + batch.num_rows), INT)
                self.next_trade_id = start + batch.num_rows
            converted["side"] = _checked_sides(converted["side"], position)
        order = self.output_columns()
        return pa.RecordBatch.from_arrays([converted[name] for name in order], names=order)

    def empty_schema(self, input_schema: pa.Schema) -> pa.Schema:
        """The schema every normalized batch of this upload has (known before any row is read)."""
        empty = pa.RecordBatch.from_pylist([], schema=input_schema)
        saved = self.next_trade_id
        schema = self.normalize(empty, Position("row", 0)).schema
        self.next_trade_id = saved
        return schema

    def _convert(self, name: str, values: pa.Array, position: Position) -> pa.Array:
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        if pa.types.is_dictionary(values.type):
            values = values.dictionary_decode()
        if name in self.time_columns:
            return coerce_time_array(values, name, position, required=False)
        target = canonical_type(self.kind, name)
        if target is None and name in self.widen_to_float:
            target = FLOAT
        if target is None:
            target = self.recast.get(name)
        if target is None and name in self.null_to_text:
            target = TEXT
        if target is None:
            return values
        return cast_column(values, target, name, position)


def cast_column(values: pa.Array, target: pa.DataType, column: str, position: Position) -> pa.Array:
    """A column cast to the type the contract fixes; the first cell that does not fit is a 400."""
    if values.type == target:
        return values
    source = values
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        trimmed = pc.utf8_trim_whitespace(values)
        source = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, trimmed.type), trimmed)
        if target == TEXT:
            return source.cast(TEXT)
    try:
        return pc.cast(source, target)
    except _CAST_ERRORS:
        index = first_cast_failure(source, target)
        problem = "must be an integer" if pa.types.is_integer(target) else "must be a number"
        if target == TEXT:
            problem = "must be text"
        raise position.error(index, column, problem, source[index].as_py()) from None


def _checked_sides(values: pa.Array, position: Position) -> pa.Array:
    """`side` lower-cased; anything but long/short (or a blank) is a 400 with its line."""
    lowered = pc.utf8_lower(pc.utf8_trim_whitespace(values))
    valid = pc.is_in(lowered, value_set=pa.array(SIDES))
    index = first_true(pc.invert(pc.fill_null(valid, False)))
    if index is not None:
        raise position.error(index, "side", "must be long or short", values[index].as_py())
    return lowered


__all__ = ["NANOS_TYPE", "FramePlan", "canonical_type", "cast_column"]
