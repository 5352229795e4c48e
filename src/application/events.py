"""Following changes as they happen (the SSE feed), resumable from the last event a subscriber saw."""

from __future__ import annotations

from collections.abc import AsyncIterator

from application.ports import Event, EventFeed
from domain.datasets import Dataset
from domain.events import concerns_dataset


def follow_events(
    types: set[str] | None, last_event_id: int | None, dataset: Dataset | None = None, *, feed: EventFeed
) -> AsyncIterator[Event]:
    """Events of `types` (None: all) after `last_event_id` (None: from now on), then live ones, in order;
    with `dataset`, only those about it, its runs, simulations and jobs."""
    events = feed.subscribe(types, last_event_id)
    return events if dataset is None else _about(events, dataset)


async def _about(events: AsyncIterator[Event], dataset: Dataset) -> AsyncIterator[Event]:
    ident, slug = str(dataset.dataset_id), str(dataset.dataset_slug)
    try:
        async for event in events:
            if concerns_dataset(event.data, ident, slug):
                yield event
    finally:
        closer = getattr(events, "aclose", None)
        if closer is not None:
            await closer()
