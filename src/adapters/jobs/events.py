"""The event feed behind `/api/events`: publish, and subscribe with resume from a Last-Event-ID.

Every implementation numbers events in the order subscribers see them. A subscriber first reads what
it missed from storage (events after its Last-Event-ID, up to what this process has already delivered),
then follows the live fan-out; one that falls behind reads the gap from storage again instead of
stalling the others. The stores: `stage1_events` on Postgres (postgres_events.py) and SQLite
(sqlite_events.py), or a bounded deque in memory (here).
"""

from __future__ import annotations

import asyncio
import itertools
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator, Iterable
from typing import Any

from application.ports import Event

__all__ = ["Event", "EventFanout", "FanoutFeed", "MemoryEventFeed"]

SUBSCRIBER_BUFFER = 1000
BACKLOG_PAGE = 500


class _Subscriber:
    __slots__ = ("lagged", "pending", "types", "wake")

    def __init__(self, types: set[str] | None) -> None:
        self.types = types
        self.pending: deque[Event] = deque()
        self.wake = asyncio.Event()
        self.lagged = False


class EventFanout:
    """Hands each delivered event to every in-process subscriber; `delivered` is the highest id so far."""

    def __init__(self, buffer: int = SUBSCRIBER_BUFFER) -> None:
        self.buffer = buffer
        self.delivered = 0
        self._subscribers: set[_Subscriber] = set()

    def deliver(self, events: Iterable[Event]) -> None:
        for event in events:
            if event.id <= self.delivered:
                continue
            self.delivered = event.id
            for sub in self._subscribers:
                if sub.types is not None and event.type not in sub.types:
                    continue
                if len(sub.pending) >= self.buffer:
                    sub.lagged = True
                else:
                    sub.pending.append(event)
                sub.wake.set()

    def deliver_live(self, event_type: str, data: dict[str, Any]) -> None:
        """An event that is not stored (a job's progress): to the subscribers connected now, with the id of
        the last stored one, so a client that resumes from it misses no stored event."""
        event = Event(self.delivered, event_type, data, kept=False)
        for sub in self._subscribers:
            if (sub.types is None or event_type in sub.types) and len(sub.pending) < self.buffer:
                sub.pending.append(event)
                sub.wake.set()

    def add(self, types: set[str] | None) -> _Subscriber:
        sub = _Subscriber(types)
        self._subscribers.add(sub)
        return sub

    def remove(self, sub: _Subscriber) -> None:
        self._subscribers.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)


class FanoutFeed(ABC):
    """subscribe() over a fan-out plus a store that can re-read a range of event ids."""

    def __init__(self, buffer: int = SUBSCRIBER_BUFFER) -> None:
        self._fanout = EventFanout(buffer)

    @abstractmethod
    async def publish(self, event_type: str, data: dict[str, Any]) -> None: ...

    @abstractmethod
    async def _read_range(self, after: int, upto: int, types: set[str] | None, limit: int) -> list[Event]:
        """Stored events with after < id <= upto of `types`, in id order, at most `limit`."""

    async def _start(self) -> None:  # noqa: B027 - optional hook, most feeds need no start
        """Make sure live events flow and `self._fanout.delivered` is current (no-op by default)."""

    async def committed(self) -> None:  # noqa: B027 - optional hook
        """A unit of work of this process committed events: deliver them soon (no-op by default)."""

    def announce(self, event_type: str, data: dict[str, Any]) -> None:
        """Sends an event live only, without storing it (a job's progress)."""
        self._fanout.deliver_live(event_type, data)

    async def subscribe(
        self, types: set[str] | None = None, last_event_id: int | None = None
    ) -> AsyncIterator[Event]:
        await self._start()
        if last_event_id is not None:
            # What committed without its wake-up arriving yet (its writer died right after the commit) is
            # looked for now, not at the next poll.
            await self.committed()
        sub = self._fanout.add(types)
        try:
            last = self._fanout.delivered if last_event_id is None else last_event_id
            async for event in self._backlog(last, self._fanout.delivered, types):
                yield event
                last = event.id
            while True:
                if sub.lagged:
                    sub.lagged = False
                    sub.pending.clear()
                    async for event in self._backlog(last, self._fanout.delivered, types):
                        yield event
                        last = event.id
                    continue
                if not sub.pending:
                    sub.wake.clear()
                    await sub.wake.wait()
                    continue
                event = sub.pending.popleft()
                if not event.kept:
                    yield event
                elif event.id > last:
                    yield event
                    last = event.id
        finally:
            self._fanout.remove(sub)

    async def _backlog(self, after: int, upto: int, types: set[str] | None) -> AsyncIterator[Event]:
        while after < upto:
            page = await self._read_range(after, upto, types, BACKLOG_PAGE)
            for event in page:
                yield event
            if len(page) < BACKLOG_PAGE:
                return
            after = page[-1].id


class MemoryEventFeed(FanoutFeed):
    """In-process only; keeps the last `keep` events so a reconnect can resume."""

    def __init__(self, keep: int = 10_000, buffer: int = SUBSCRIBER_BUFFER) -> None:
        super().__init__(buffer)
        self._ids = itertools.count(1)
        self._recent: deque[Event] = deque(maxlen=keep)

    async def publish(self, event_type: str, data: dict[str, Any]) -> None:
        self.emit(event_type, data)

    def emit(self, event_type: str, data: dict[str, Any]) -> Event:
        event = Event(next(self._ids), event_type, data)
        self._recent.append(event)
        self._fanout.deliver([event])
        return event

    @property
    def events(self) -> list[Event]:
        return list(self._recent)

    async def _read_range(self, after: int, upto: int, types: set[str] | None, limit: int) -> list[Event]:
        picked = [
            e for e in self._recent if after < e.id <= upto and (types is None or e.type in types)
        ]
        return picked[:limit]
