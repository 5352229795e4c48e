"""An upload checked whole before its first row is written anywhere.

The spooled upload is read once, every cell parsed and normalized, into an Arrow IPC file beside it; only
then does the first batch come out, served from that file (memory-mapped, no second parse). So a bad row at
line 900,001 is a 400 while the store is still untouched, and the row count is known before the write
starts. The IPC file is deleted on every path: the end, an error, or the consumer letting go.

`streamed=True` skips the copy: batches come out as they pass their checks, parsed a few batches ahead in
a thread (read_ahead.py) while the caller writes the ones before, and a bad row fails the stream midway. Only a
caller whose write is all or nothing by itself takes that (an import: every store's write keeps the measurement
as it was when its batches fail midway); `rows` is then known at the end.
"""

from __future__ import annotations

import glob
import uuid
from collections.abc import AsyncGenerator
from functools import partial
from pathlib import Path
from typing import Any, Final, Self

import anyio
import anyio.from_thread
import anyio.to_thread
import pyarrow as pa
import pyarrow.ipc as pa_ipc

from adapters.frames.csv_input import DEFAULT_BLOCK_SIZE, DEFAULT_MAX_COLUMNS
from adapters.frames.detection import UploadFormat
from adapters.frames.read_ahead import ReadAhead
from adapters.frames.readers import DEFAULT_BATCH_ROWS, open_frames
from application.series_ports import UploadReadOptions
from domain.frames import FrameKind, OnError

CHECKED_SUFFIX: Final = ".checked.arrow"


def checked_copies(upload: Path | str) -> list[Path]:
    """Checked copies of `upload` that are still on disk (each read makes and deletes its own)."""
    path = Path(upload)
    return sorted(path.parent.glob(f"{glob.escape(path.name)}.*{CHECKED_SUFFIX}"))


class CheckedFrame:
    """The normalized batches of one upload; `rows` is set once the whole upload passed its checks."""

    def __init__(
        self,
        path: Path | str,
        kind: FrameKind,
        options: UploadReadOptions = UploadReadOptions(),
        *,
        fmt: UploadFormat | None = None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        block_size: int = DEFAULT_BLOCK_SIZE,
        max_columns: int = DEFAULT_MAX_COLUMNS,
    ) -> None:
        self.rows: int | None = None
        self.rejected_rows = 0
        self.rejected: list[dict[str, Any]] = []
        self._path = Path(path)
        self._progress = options.progress
        self._open = partial(
            open_frames, self._path, kind, fmt=fmt, batch_rows=batch_rows, block_size=block_size,
            max_columns=max_columns, skip_bad_rows=options.on_error is OnError.SKIP,
        )  # fmt: skip
        self._batches = self._stream() if options.streamed else self._generate()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> pa.RecordBatch:
        return await anext(self._batches)

    async def aclose(self) -> None:
        await self._batches.aclose()

    async def _generate(self) -> AsyncGenerator[pa.RecordBatch, None]:
        checked = self._path.with_name(f"{self._path.name}.{uuid.uuid4().hex[:12]}{CHECKED_SUFFIX}")
        try:
            self.rows = await anyio.to_thread.run_sync(self._check_into, checked)
            reader = await anyio.to_thread.run_sync(_open_checked, checked)
            for index in range(reader.num_record_batches):
                yield reader.get_batch(index)
        finally:
            # Unlinking leaves the mapped batches readable for whoever still holds them.
            checked.unlink(missing_ok=True)

    async def _stream(self) -> AsyncGenerator[pa.RecordBatch, None]:
        ahead = ReadAhead(self._open)
        rows = 0
        try:
            async for batch in ahead:
                assert ahead.schema is not None
                yield batch if batch.schema.equals(ahead.schema) else batch.cast(ahead.schema)
                rows += batch.num_rows
                if self._progress is not None:
                    await self._progress(rows)
            if ahead.rejections is not None:
                self.rejected_rows = ahead.rejections.count
                self.rejected = ahead.rejections.report()
            self.rows = rows
        finally:
            await ahead.aclose()

    def _check_into(self, target: Path) -> int:
        """Reads, checks and normalizes every row into `target` (blocking); answers the row count."""
        rows = 0
        with self._open() as reader, pa_ipc.new_file(str(target), reader.schema) as out:
            for batch in reader:
                if not batch.num_rows:
                    continue
                out.write_batch(batch if batch.schema.equals(reader.schema) else batch.cast(reader.schema))
                rows += batch.num_rows
                if self._progress is not None:
                    # One hop to the event loop per batch (100,000 rows): the job's progress moves while
                    # the check pass, where most of an import's time goes, is still running.
                    anyio.from_thread.run(self._progress, rows)
            if reader.rejections is not None:
                self.rejected_rows = reader.rejections.count
                self.rejected = reader.rejections.report()
        return rows


def _open_checked(path: Path) -> pa_ipc.RecordBatchFileReader:
    return pa_ipc.open_file(pa.memory_map(str(path), "r"))
