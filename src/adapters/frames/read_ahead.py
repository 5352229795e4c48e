"""An upload's check pass run in its own thread, a few batches ahead of the write that takes them.

Parsing a CSV block (pyarrow) and serializing a chunk for the store (the QuestDB client) both let go of the
GIL, so with the parser a couple of batches ahead, reading and writing run side by side on two cores instead of
one after the other. The queue between them is bounded: the write sets the pace and memory stays at `depth`
batches. The thread ends on its own at the end of the upload or at its first error (handed to the consumer
as it was raised), or when the consumer lets go (`aclose`).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Final, Self

import anyio
import anyio.to_thread
import pyarrow as pa

from adapters.frames.frame_reader import FrameReader
from adapters.frames.rejections import Rejections

DEFAULT_DEPTH: Final = 2
# How often a producer blocked on a full queue looks whether the consumer has gone.
_POLL_SECONDS: Final = 0.05


class _End:
    """The last item of a complete upload."""


class ReadAhead:
    """The batches `open_reader()` yields (blocking, in a thread), as an async iterator."""

    def __init__(self, open_reader: Callable[[], FrameReader], depth: int = DEFAULT_DEPTH) -> None:
        self.rejections: Rejections | None = None
        self.schema: pa.Schema | None = None  # the reader's, set before its first batch is queued
        self._open = open_reader
        self._queue: queue.Queue[pa.RecordBatch | BaseException | _End] = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._run, name="stage1-read-ahead", daemon=True)
        self._thread.start()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> pa.RecordBatch:
        if self._done:
            raise StopAsyncIteration
        # The producer always ends with an item (the end or its error), so this get returns.
        item = await anyio.to_thread.run_sync(self._queue.get)
        if isinstance(item, _End):
            self._done = True
            raise StopAsyncIteration
        if isinstance(item, BaseException):
            self._done = True
            raise item
        return item

    async def aclose(self) -> None:
        """Stops the producer (if it still runs) and waits until it closed its reader."""
        self._done = True
        self._stop.set()
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self._thread.join)

    def _run(self) -> None:
        try:
            with self._open() as reader:
                self.schema = reader.schema
                for batch in reader:
                    if batch.num_rows and not self._put(batch):
                        return
                self.rejections = reader.rejections
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(exc)
            return
        self._put(_End())

    def _put(self, item: pa.RecordBatch | BaseException | _End) -> bool:
        """Queues `item`; False once the consumer has let go."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False
