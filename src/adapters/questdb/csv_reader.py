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
        """The batches of the CSV body. Each block is parsed in a worker thread while the next one is received,
        so QuestDB keeps writing instead of waiting on a full socket while a block is parsed."""
        blocks = aiter(self._blocks(chunks))
        produced = False
        try:
            block = await anext(blocks, None)
            while block is not None:
                parsed: list[pa.RecordBatch] = []
                try:
                    async with anyio.create_task_group() as group:
                        group.start_soon(self._parse_into, block, parsed)
                        block = await anext(blocks, None)
                except BaseExceptionGroup as failed:
                    raise _first(failed) from None
                for batch in parsed:
                    produced = True
                    yield batch
        finally:
            with anyio.CancelScope(shield=True):
                await blocks.aclose()  # type: ignore[attr-defined]
        if not produced:
            yield pa.RecordBatch.from_pylist([], schema=self.schema)

    async def _blocks(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[pa.Buffer]:
        """The body after its header row, cut after a newline every `block_bytes` or so; each block a view of
        the joined chunks (no second copy)."""
        pending: list[bytes] = []
        size = 0
        header_done = False
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
            yield pa.py_buffer(joined).slice(0, cut)
        if pending:
            yield pa.py_buffer(b"".join(pending))

    async def _parse_into(self, block: pa.Buffer, parsed: list[pa.RecordBatch]) -> None:
        parsed.extend(await anyio.to_thread.run_sync(self._batches, block))

    def _batches(self, block: pa.Buffer) -> list[pa.RecordBatch]:
        # Blank lines are skipped by the parser; a block of nothing but them (the body's end) has no rows.
        if block.size < 64 and not block.to_pybytes().strip():
            return []
        parsed = pa_csv.read_csv(block, self._read, self._parse, self._convert)
        columns = []
        for name, values in zip(parsed.column_names, parsed.columns, strict=True):
            if name in self.times:
                values = _time(values)
            elif pa.types.is_string(values.type):
                values = _unescape(values)
            columns.append(values)
        table = pa.Table.from_arrays(columns, schema=self.schema)
        return [batch for batch in table.to_batches() if batch.num_rows]


class StoredShape:
    """Rows read in binary over the Postgres wire port (times as epoch microseconds, as `sql.outer` spells them)
    in the stored shape the CSV reading gives: times `timestamp[ns]`, every integer int64, symbols as text."""

    def __init__(self, types: Mapping[str, str]) -> None:
        self.times = {name for name, kind in types.items() if kind.upper() in TIME_TYPES}
        self.schema = pa.schema([(name, arrow_type(kind)) for name, kind in types.items()])

    def of(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        columns = []
        for field, values in zip(self.schema, batch.columns, strict=True):
            if field.name in self.times:
                values = _time(values)
            elif values.type != field.type:
                values = values.cast(field.type)
            columns.append(values)
        return pa.RecordBatch.from_arrays(columns, schema=self.schema)


def _time(micros: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    return pc.cast(pc.cast(micros, pa.timestamp("us")), TIME)


def _first(failed: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error itself rather than the group a task group wraps it in (the route maps it to a status)."""
    while isinstance(failed, BaseExceptionGroup) and len(failed.exceptions) == 1:
        failed = failed.exceptions[0]  # type: ignore[assignment]
    return failed


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
