"""A spooled upload that is still arriving, read while it is written.

A request that waits for its import spools the body as usual (the file stays for a retry) and, at the same
time, the import parses it: readers of a file registered here see only the bytes the spool has acknowledged,
wait for the next ones, and reach the end of the file only once the whole body is in. A body that fails
(too large, cut off) fails its readers with the same error. A file not registered here is complete.
"""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path
from typing import Final

# How often a waiting reader looks again (it is also woken by every chunk).
_POLL_SECONDS: Final = 0.1

_ARRIVING: dict[str, Arrival] = {}
_LOCK = threading.Lock()


class Arrival:
    """How much of one spool file is written; `None` wanted means the whole file."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._size = 0
        self._done = False
        self._error: BaseException | None = None

    def grew(self, size: int) -> None:
        with self._changed:
            self._size += size
            self._changed.notify_all()

    def finish(self, error: BaseException | None = None) -> None:
        with self._changed:
            if not self._done:
                self._done, self._error = True, error
            self._changed.notify_all()

    def wait_for(self, wanted: int | None) -> int:
        """Blocks until `wanted` bytes (all, for None) are written or the body ended; answers the bytes written."""
        with self._changed:
            while not self._done and (wanted is None or self._size < wanted):
                self._changed.wait(_POLL_SECONDS)
            if self._error is not None:
                raise self._error
            return self._size


def register(path: Path | str) -> Arrival:
    """Marks `path` as arriving: from now until `release`, its readers wait for the bytes `Arrival` acknowledges."""
    arrival = Arrival()
    with _LOCK:
        _ARRIVING[os.fspath(path)] = arrival
    return arrival


def release(path: Path | str) -> None:
    """The file is complete, or will never be: readers still waiting on it are failed, later ones read it as is."""
    with _LOCK:
        arrival = _ARRIVING.pop(os.fspath(path), None)
    if arrival is not None:
        arrival.finish(ConnectionAbortedError("the upload ended before its body was complete"))


def arrival_of(source: object) -> Arrival | None:
    if isinstance(source, bytes):
        return None
    with _LOCK:
        return _ARRIVING.get(os.fspath(source))  # type: ignore[call-overload]


def wait_for(source: object, wanted: int | None) -> None:
    """Blocks until `wanted` bytes of `source` (all, for None) are there; returns at once for a complete file."""
    arrival = arrival_of(source)
    if arrival is not None:
        arrival.wait_for(wanted)


class ArrivingFile(io.RawIOBase):
    """The arriving file, read from its start: a read waits until all the bytes it asks for are written (or the
    body ended), and EOF is the body's end."""

    def __init__(self, path: Path | str, arrival: Arrival) -> None:
        self._file = open(path, "rb", buffering=0)  # noqa: SIM115 - closed with this object
        self._arrival = arrival
        self._position = 0

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        """Fills `buffer` whole unless the body ends first: Arrow's CSV reader takes a short read for the end of
        the stream, and a block cut short in the middle would be parsed as two."""
        written = self._arrival.wait_for(self._position + len(buffer))
        wanted = min(len(buffer), written - self._position)
        view, got = memoryview(buffer), 0
        while got < wanted:
            step = self._file.readinto(view[got:wanted])
            if not step:
                break
            got += step
        self._position += got
        return got

    def close(self) -> None:
        self._file.close()
        super().close()
