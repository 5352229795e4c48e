"""The type vocabulary every time-series store describes its columns with (QuestDB's names), and the type
a normalized Arrow column gets there: what a stored column is called, and what a dry run says it would be."""

from __future__ import annotations

from typing import Final

import pyarrow as pa

from domain.frames import FrameKind

# The type vocabulary every store describes its columns with (QuestDB's names).
LONG: Final = "LONG"
DOUBLE: Final = "DOUBLE"
VARCHAR: Final = "VARCHAR"
SYMBOL: Final = "SYMBOL"
BOOLEAN: Final = "BOOLEAN"
TIMESTAMP_TYPE: Final = "TIMESTAMP"

# Text columns that hold a handful of distinct values are stored as QuestDB symbols.
SYMBOL_COLUMNS: Final[dict[FrameKind, frozenset[str]]] = {FrameKind.TRADES: frozenset({"side"})}


def type_name(dtype: pa.DataType) -> str:
    """The store type a stored-shape Arrow type maps to."""
    if pa.types.is_timestamp(dtype):
        return TIMESTAMP_TYPE
    if pa.types.is_integer(dtype):
        return LONG
    if pa.types.is_floating(dtype):
        return DOUBLE
    if pa.types.is_boolean(dtype):
        return BOOLEAN
    return VARCHAR


def column_type_for(kind: FrameKind, name: str, dtype: pa.DataType) -> str:
    """The store type a new column gets (a symbol for low-cardinality text such as `side`)."""
    chosen = type_name(dtype)
    if chosen == VARCHAR and name in SYMBOL_COLUMNS.get(kind, frozenset()):
        return SYMBOL
    return chosen


__all__ = ["BOOLEAN", "DOUBLE", "LONG", "SYMBOL", "SYMBOL_COLUMNS", "TIMESTAMP_TYPE", "VARCHAR"]
