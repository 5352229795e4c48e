"""The in-process wake-up the SQLite and memory queues share (Postgres uses LISTEN/NOTIFY instead)."""

from __future__ import annotations

import asyncio
import contextlib


class WakeSignal:
    """Set when work may have appeared; a claim re-arms it before looking, so a wake-up that lands
    between an empty claim and the next wait is never lost."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()

    def rearm(self) -> None:
        self._event.clear()

    async def wait(self, timeout: float) -> None:
        if timeout <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)
