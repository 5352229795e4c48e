"""Rows left out of an `on_error=skip` import, counted all and described up to a cap.

Each rejection says where its row sits as every row error does: `row` is the 1-based data row in every
format, `line` the 1-based line of a text file (null otherwise), with the column, the value and the reason.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from domain.errors import InvalidInput

KEPT: Final = 100
_WHERE: Final = re.compile(r"^(?:line|row) \d+: ")


@dataclass(slots=True)
class Rejections:
    """What was skipped so far. The CSV parser drops rows of the wrong width before we see them; later
    rows' record numbers are counted past those (`shift_record`)."""

    relocate: Callable[[InvalidInput], InvalidInput] | None = None
    count: int = 0
    first: list[dict[str, Any]] = field(default_factory=list)
    # Records (non-blank lines, header = 1) the CSV parser dropped, in increasing order.
    dropped_records: list[int] = field(default_factory=list)

    def parser_dropped(self, record: int | None, expected: int, found: int, text: str) -> None:
        """A row of the wrong width, which Arrow's CSV parser numbers as a record (header = 1)."""
        if record is not None:
            self.dropped_records.append(record)
        self._add(None if record is None else record, None, text[:80], f"expected {expected} fields, found {found}")

    def rejected(self, error: InvalidInput) -> None:
        """A row whose cell did not fit; `error` points at it as if no row had been dropped before it."""
        details = error.details if isinstance(error.details, dict) else {}
        reason = _WHERE.sub("", error.message)
        if isinstance(details.get("line"), int):
            self._add(self.shift_record(details["line"]), details.get("column"), details.get("value"), reason)
        else:
            self.count += 1
            if len(self.first) < KEPT:
                row = details.get("row")
                self.first.append({"row": row, "line": None, "column": details.get("column"),
                                   "value": details.get("value"), "reason": reason})  # fmt: skip

    def shift_record(self, record: int) -> int:
        """The record number once the dropped records before it are counted back in."""
        skipped = bisect_right(self.dropped_records, record)
        while (more := bisect_right(self.dropped_records, record + skipped)) > skipped:
            skipped = more
        return record + skipped

    def _add(self, record: int | None, column: Any, value: Any, reason: str) -> None:
        """A text row: `row` counts data records, `line` the file's lines (blank ones included)."""
        self.count += 1
        if len(self.first) >= KEPT:
            return
        row = line = None
        if record is not None:
            row, line = record - 1, record
            if self.relocate is not None:
                moved = self.relocate(InvalidInput(f"line {record}: ", {"line": record}))
                line = moved.details["line"] if isinstance(moved.details, dict) else record
        self.first.append({"row": row, "line": line, "column": column, "value": value, "reason": reason})

    def report(self) -> list[dict[str, Any]]:
        """The kept rejections in file order (the parser reports a block's bad widths before its cells)."""
        return sorted(self.first, key=lambda item: (item["row"] is None, item["row"] or 0))
