"""An opened upload as a blocking iterator of normalized Arrow batches, and where its bytes come from."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Self

import pyarrow as pa

from adapters.frames.arriving import ArrivingFile, arrival_of, wait_for
from adapters.frames.detection import HEAD_BYTES
from adapters.frames.normalize import FramePlan
from adapters.frames.positions import Position
from adapters.frames.rejections import Rejections
from domain.errors import InvalidInput

# After a bad row, the rest of a batch is normalized in pieces this long, so each further bad row costs
# one small piece again rather than the whole remainder.
SKIP_PIECE_ROWS = 4096

Source = Path | str | bytes


class FrameReader:
    """An opened upload: its normalized `schema` is known at once, its batches come on iteration."""

    def __init__(
        self,
        plan: FramePlan,
        input_schema: pa.Schema,
        raw: Iterator[pa.RecordBatch],
        *,
        start: Position,
        batch_rows: int,
        translate: Callable[[Exception], InvalidInput],
        relocate: Callable[[InvalidInput], InvalidInput] | None = None,
        closers: Sequence[Callable[[], Any]] = (),
        rejections: Rejections | None = None,
    ) -> None:
        """With `rejections`, a row that does not fit is left out and recorded there instead of failing."""
        self.plan = plan
        self.rejections = rejections
        self._closers = list(closers)
        self._raw = raw
        try:
            self.schema: pa.Schema = plan.empty_schema(input_schema)
        except BaseException:
            self.close()
            raise
        self._start = start
        self._batch_rows = max(1, batch_rows)
        self._translate = translate
        self._relocate = relocate

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        try:
            yield from self._batches()
        except InvalidInput as error:
            if self._relocate is None:
                raise
            raise self._relocate(error) from error

    def _batches(self) -> Iterator[pa.RecordBatch]:
        position = self._start
        while True:
            try:
                batch = next(self._raw)
            except StopIteration:
                return
            except (pa.ArrowException, OSError, EOFError, UnicodeDecodeError) as exc:
                raise self._translate(exc) from exc
            for offset in range(0, batch.num_rows, self._batch_rows):
                piece = batch.slice(offset, self._batch_rows)
                if self.rejections is None:
                    yield self.plan.normalize(piece, position)
                else:
                    yield from self._normalize_skipping(piece, position, self.rejections)
                position = position.shifted(piece.num_rows)

    def _normalize_skipping(
        self, piece: pa.RecordBatch, position: Position, rejections: Rejections
    ) -> Iterator[pa.RecordBatch]:
        """The rows of `piece` that fit, normalized; each row that does not is recorded and left out."""
        pending = [(piece, position)]
        while pending:
            part, where = pending.pop()
            if part.num_rows == 0:
                continue
            next_trade_id = self.plan.next_trade_id
            try:
                yield self.plan.normalize(part, where)
                continue
            except InvalidInput as error:
                self.plan.next_trade_id = next_trade_id
                bad = _row_index(error, where)
                if bad is None or not 0 <= bad < part.num_rows:
                    raise
                rejections.rejected(error)
            # Rows before the bad one may still fail in another column; those after, anywhere. Pieces go on
            # the stack last-first so rows come out in input order.
            rest = part.slice(bad + 1)
            after = where.shifted(bad + 1)
            pieces = [
                (rest.slice(at, SKIP_PIECE_ROWS), after.shifted(at)) for at in range(0, rest.num_rows, SKIP_PIECE_ROWS)
            ]
            pending.extend(reversed(pieces))
            pending.append((part.slice(0, bad), where))

    def close(self) -> None:
        # Dropping the batch iterator lets a reader that owns its file (CSV) release it.
        self._raw = iter(())
        closers, self._closers = self._closers, []
        for close in closers:
            close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _row_index(error: InvalidInput, where: Position) -> int | None:
    """Which row of the batch starting at `where` an error from `plan.normalize` is about."""
    details = error.details if isinstance(error.details, dict) else {}
    at = details.get(where.unit)
    return at - where.first if isinstance(at, int) else None


def head(source: Source) -> bytes:
    if isinstance(source, bytes):
        return source[:HEAD_BYTES]
    wait_for(source, HEAD_BYTES)
    with open(source, "rb") as handle:
        return handle.read(HEAD_BYTES)


def name_of(source: Source) -> str | None:
    return None if isinstance(source, bytes) else os.fspath(source)


def input_stream(source: Source) -> pa.NativeFile:
    """The bytes from the start; an upload still arriving is read as it arrives (arriving.py)."""
    if isinstance(source, bytes):
        return pa.BufferReader(source)
    arrival = arrival_of(source)
    if arrival is not None:
        return pa.PythonFile(ArrivingFile(source, arrival), mode="r")
    return pa.OSFile(os.fspath(source), "rb")


def random_access(source: Source) -> pa.NativeFile:
    """Random access needs the whole file: an upload still arriving is waited for."""
    if isinstance(source, bytes):
        return pa.BufferReader(source)
    wait_for(source, None)
    return pa.memory_map(os.fspath(source), "r")
