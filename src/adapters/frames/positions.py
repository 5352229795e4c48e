"""Pointing at the input cell a 400 is about: a CSV line, or a row of a JSON array / binary frame."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from domain.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Position:
    """Where the first row of a batch sits in the input.

    Every error names the 1-based data row (`row`); a CSV error also names the 1-based file line (`line`,
    the header is line 1), because that is what a client can look up in its own file or array.
    """

    unit: Literal["line", "row"]
    first: int

    def shifted(self, rows: int) -> Position:
        return Position(self.unit, self.first + rows)

    def error(self, index: int, column: str, problem: str, value: Any = None) -> InvalidInput:
        where = self.first + index
        details: dict[str, Any] = {"row": where - 1, "line": where} if self.unit == "line" else {"row": where}
        details["column"] = column
        shown = ""
        if value is not None:
            details["value"] = _short(value)
            shown = f", got {details['value']!r}"
        place = f"row {where - 1} (line {where})" if self.unit == "line" else f"row {where}"
        return InvalidInput(f"{place}: {column} {problem}{shown}", details)


def csv_start() -> Position:
    return Position("line", 2)


def rows_start() -> Position:
    return Position("row", 1)


def first_true(mask: pa.Array) -> int | None:
    """Index of the first true (nulls count as false) in a boolean array."""
    index = pc.index(pc.fill_null(mask, False), True).as_py()
    return None if index is None or index < 0 else int(index)


def first_cast_failure(values: pa.Array, target: pa.DataType) -> int:
    """Index of the first value that does not cast, found by bisection (only run once a cast failed)."""
    lo, hi = 0, len(values)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            pc.cast(values.slice(lo, mid - lo), target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            hi = mid
        else:
            lo = mid
    return lo


def _short(value: Any) -> Any:
    if isinstance(value, str):
        return value[:80]
    if isinstance(value, int | float | bool):
        return value
    return str(value)[:80]
