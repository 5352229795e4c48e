"""The ports of the event feed (SSE and WebSocket streams): the outbox a unit of work writes events into, and
the feed subscribers follow."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol


class EventOutbox(Protocol):
    """Events written in the unit of work's own transaction (the outbox pattern): an event commits with the
    change it reports or not at all, so no crash can commit one without the other. Subscribers see it once
    it has committed."""

    async def add(self, event_type: str, data: dict[str, Any]) -> None: ...


class EventPublisher(Protocol):
    """An event on its own, in a transaction of its own (tests, tools): `job.updated`, `dataset.updated`, ..."""

    async def publish(self, event_type: str, data: dict[str, Any]) -> None: ...


@dataclass(frozen=True, slots=True)
class Event:
    """One change, numbered in the order subscribers see it (the SSE `id`, resumed by Last-Event-ID).

    A `kept=False` event (a job's progress) is sent live only: it is not stored, so a resume never
    replays it, and it carries the id of the last kept event before it."""

    id: int
    type: str
    data: dict[str, Any]
    kept: bool = True


class EventFeed(EventPublisher, Protocol):
    def subscribe(self, types: set[str] | None = None, last_event_id: int | None = None) -> AsyncIterator[Event]:
        """Events after `last_event_id` (None: from now on), then live ones, in order, until closed."""
        ...
