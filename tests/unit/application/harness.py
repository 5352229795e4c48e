"""The in-memory world the application tests drive: fakes of every port, a stepping clock, counting ids."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pyarrow as pa
import pyarrow.ipc as ipc

from adapters.frames.upload_reader import ArrowUploadReader
from adapters.jobs.events import MemoryEventFeed
from adapters.jobs.memory_queue import MemoryJobQueue
from adapters.memory.attempts import InMemoryAttemptLedger
from adapters.memory.metadata import InMemoryMetadata, InMemoryUnitOfWorkFactory
from adapters.memory.timeseries import InMemoryTimeSeriesStore
from application.series_ports import FrameUpload
from entrypoints.container import OpenPorts


class SteppingClock:
    def __init__(self) -> None:
        self.moment = datetime(2025, 11, 10, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        self.moment += timedelta(seconds=1)
        return self.moment


class CountingIds:
    def __init__(self) -> None:
        self._next = itertools.count(1)

    def new_id(self) -> UUID:
        return UUID(int=next(self._next))


class Harness:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.events = MemoryEventFeed()
        self.metadata = InMemoryMetadata(feed=self.events)
        self.store = InMemoryTimeSeriesStore()
        self.clock = clock = SteppingClock()
        self.ports = OpenPorts(
            uow=InMemoryUnitOfWorkFactory(self.metadata),
            store=self.store,
            uploads=ArrowUploadReader(),
            clock=clock,
            ids=CountingIds(),
            feed=self.events,
            queue=MemoryJobQueue(clock, self.events),
            attempts=InMemoryAttemptLedger(),
        )
        self._files = itertools.count()

    def frame(self, **columns: list[object]) -> FrameUpload:
        path = self.tmp / f"frame{next(self._files)}.arrow"
        table = pa.table(columns)
        with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        return FrameUpload(str(path))
