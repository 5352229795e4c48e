"""The ports a use case may reach, handed over as one bundle by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from application.ports import (
    Clock,
    EventFeed,
    IdGenerator,
    JobQueue,
    TimeSeriesStore,
    UnitOfWorkFactory,
    UploadReader,
)


@dataclass(frozen=True, slots=True)
class Ports:
    uow: UnitOfWorkFactory
    store: TimeSeriesStore
    frames: UploadReader
    clock: Clock
    ids: IdGenerator
    events: EventFeed
    queue: JobQueue
