"""Following changes as they happen (the SSE feed), resumable from the last event a subscriber saw."""

from __future__ import annotations

from collections.abc import AsyncIterator

from application.ports import Event, EventFeed


def follow_events(types: set[str] | None, last_event_id: int | None, *, feed: EventFeed) -> AsyncIterator[Event]:
    """Events of `types` (None: all) after `last_event_id` (None: from now on), then live ones, in order."""
    return feed.subscribe(types, last_event_id)
