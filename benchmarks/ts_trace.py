"""A wall-clock timeline of the server's import path, for diagnosis only (STAGE1_BENCH_TRACE=<file>).

Wraps a few functions of the running server (no source change) and appends one line per call:
`<name> <thread> <start> <end>` in seconds since the epoch.
"""

from __future__ import annotations

import functools
import inspect
import threading
import time
from collections.abc import Callable
from typing import Any

_SINK: list[str] = []


def _record(label: str, started: float) -> None:
    thread = threading.current_thread().name.replace(" ", "_")
    _SINK.append(f"{label} {thread} {started:.4f} {time.time():.4f}")


def _wrap(owner: Any, name: str, label: str) -> None:
    original = getattr(owner, name)
    if inspect.isasyncgenfunction(original):

        @functools.wraps(original)
        async def agen(*args: Any, **kwargs: Any) -> Any:
            started = time.time()
            try:
                async for item in original(*args, **kwargs):
                    yield item
            finally:
                _record(label, started)

        setattr(owner, name, agen)
    elif inspect.iscoroutinefunction(original):

        @functools.wraps(original)
        async def coro(*args: Any, **kwargs: Any) -> Any:
            started = time.time()
            try:
                return await original(*args, **kwargs)
            finally:
                _record(label, started)

        setattr(owner, name, coro)
    else:

        @functools.wraps(original)
        def plain(*args: Any, **kwargs: Any) -> Any:
            started = time.time()
            try:
                return original(*args, **kwargs)
            finally:
                _record(label, started)

        setattr(owner, name, plain)


def install() -> Callable[[str], None]:
    from adapters.frames import checked, csv_input, frame_reader, read_ahead, readers
    from adapters.questdb import ingest, staged_write, store
    from application import timeseries
    from entrypoints.http import uploads

    _wrap(uploads.UploadSpool, "body", "spool_body")
    _wrap(timeseries, "import_frame", "import_frame")
    _wrap(frame_reader.FrameReader, "_batches", "read_all")
    _wrap(readers, "open_frames", "open_frames")
    _wrap(csv_input, "_csv_reader", "csv_reader")
    _wrap(readers, "detect_format", "detect")
    _wrap(checked.CheckedFrame, "_check_into", "check_whole")
    _wrap(read_ahead.ReadAhead, "_run", "read_ahead")
    _wrap(ingest, "_serialize", "serialize")
    _wrap(ingest, "_flush_now", "flush")
    _wrap(ingest, "_open", "sender_open")
    _wrap(store.QuestDBTimeSeriesStore, "_await_wal", "await_wal")
    _wrap(staged_write.StagedWrite, "_swap", "swap")
    _wrap(store.QuestDBTimeSeriesStore, "write", "store_write")

    def dump(path: str) -> None:
        with open(path, "w") as handle:
            handle.write("\n".join(_SINK) + "\n")

    return dump
