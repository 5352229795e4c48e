"""QuestDB's /exp CSV, parsed into Arrow batches block by block as it streams in.

/exp ends every record with CRLF and writes text with JSON's escapes (`\\n`, `\\r`, `\\t`, `\\b`,
`\\f`, `\\uXXXX` for other control characters, `\\\\`) inside CSV quotes, so a record never spans
lines: the stream can be cut at any newline and each block parsed on its own, keeping memory flat
whatever the result size. Times arrive as epoch microseconds (the SELECT casts
them), which parse faster than ISO text.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from typing import Final

import anyio.to_thread
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from adapters.series.schema import TIME, TIME_TYPES, arrow_type

BLOCK_BYTES: Final = 8 * 1024 * 1024
_ESCAPE: Final = re.compile(r"\\(u[0-9a-fA-F]{4}|.)")
_UNESCAPED: Final = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}


class CsvBatches:
    """Arrow batches of a CSV stream whose columns and store types are known in advance."""

    def __init__(self, types: Mapping[str, str], block_bytes: int = BLOCK_BYTES) -> None:
        self.names = list(types)
        self.times = [name for name, kind in types.items() if kind.upper() in TIME_TYPES]
        self.schema = pa.schema([(name, arrow_type(kind)) for name, kind in types.items()])
        wire = {name: pa.int64() if name in self.times else field.type for name, field in
                zip(self.names, self.schema, strict=True)}
        self._read = pa_csv.ReadOptions(column_names=self.names, use_threads=True)
        self._parse = pa_csv.ParseOptions(newlines_in_values=False)
        self._convert = pa_csv.ConvertOptions(
            column_types=wire,
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["true"],
            false_values=["false"],
        )
        self._block_bytes = block_bytes

    async def parse(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[pa.RecordBatch]:
        pending: list[bytes] = []
        size = 0
        header_done = False
        produced = False
        async for chunk in chunks:
            if not header_done:
                pending.append(chunk)
                joined = b"".join(pending)
                newline = joined.find(b"\n")
                if newline < 0:
                    continue
                header_done = True
                rest = joined[newline + 1 :]
                pending, size = ([rest], len(rest)) if rest else ([], 0)
                continue
            pending.append(chunk)
            size += len(chunk)
            if size < self._block_bytes:
                continue
            joined = b"".join(pending)
            cut = joined.rfind(b"\n") + 1
            if cut == 0:
                pending, size = [joined], len(joined)
                continue
            tail = joined[cut:]
            pending, size = ([tail], len(tail)) if tail else ([], 0)
            for batch in await anyio.to_thread.run_sync(self._batches, joined[:cut]):
                produced = True
                yield batch
        if pending:
            for batch in await anyio.to_thread.run_sync(self._batches, b"".join(pending)):
                produced = True
                yield batch
        if not produced:
            yield pa.RecordBatch.from_pylist([], schema=self.schema)

    def _batches(self, block: bytes) -> list[pa.RecordBatch]:
        if not block.strip():
            return []
        parsed = pa_csv.read_csv(pa.py_buffer(block), self._read, self._parse, self._convert)
        columns = []
        for name, values in zip(parsed.column_names, parsed.columns, strict=True):
            if name in self.times:
                values = pc.cast(pc.cast(values, pa.timestamp("us")), TIME)
            elif pa.types.is_string(values.type):
                values = _unescape(values)
            columns.append(values)
        table = pa.Table.from_arrays(columns, schema=self.schema)
        return [batch for batch in table.to_batches() if batch.num_rows]


def _unescape(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Undo /exp's backslash escapes; only values holding a backslash (rare) take the slow path."""
    marked = pc.match_substring(values, "\\")
    if not pc.any(marked).as_py():
        return values
    decoded = [
        None if text is None else _ESCAPE.sub(_unescape_one, text) for text in values.to_pylist()
    ]
    return pa.chunked_array([pa.array(decoded, pa.string())])


def _unescape_one(match: re.Match[str]) -> str:
    code = match[1]
    if len(code) == 5:
        return chr(int(code[1:], 16))
    return _UNESCAPED.get(code, code)
