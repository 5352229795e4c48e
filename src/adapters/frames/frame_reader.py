"""An opened upload as a blocking iterator of normalized Arrow batches, and where its bytes come from."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Self

import pyarrow as pa

from adapters.frames.detection import HEAD_BYTES
from adapters.frames.normalize import FramePlan
from adapters.frames.positions import Position
from domain.errors import InvalidInput

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
    ) -> None:
        self.plan = plan
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
                yield self.plan.normalize(piece, position)
                position = position.shifted(piece.num_rows)

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


def head(source: Source) -> bytes:
    if isinstance(source, bytes):
        return source[:HEAD_BYTES]
    with open(source, "rb") as handle:
        return handle.read(HEAD_BYTES)


def name_of(source: Source) -> str | None:
    return None if isinstance(source, bytes) else os.fspath(source)


def input_stream(source: Source) -> pa.NativeFile:
    if isinstance(source, bytes):
        return pa.BufferReader(source)
    return pa.OSFile(os.fspath(source), "rb")


def random_access(source: Source) -> pa.NativeFile:
    if isinstance(source, bytes):
        return pa.BufferReader(source)
    return pa.memory_map(os.fspath(source), "r")
