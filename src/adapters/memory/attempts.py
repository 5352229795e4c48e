"""`AttemptLedger` in the process: what one server process alone needs (the embedded default)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Final

from domain.lockout import Attempts

# Clients are remembered in a bounded table, so a flood of distinct addresses cannot grow it for ever.
MAX_CLIENTS: Final = 100_000


class InMemoryAttemptLedger:
    def __init__(self, capacity: int = MAX_CLIENTS) -> None:
        self._capacity = capacity
        self._records: OrderedDict[str, Attempts] = OrderedDict()

    def __len__(self) -> int:
        return len(self._records)

    async def get(self, key: str) -> Attempts | None:
        return self._records.get(key)

    async def change(self, key: str, how: Callable[[Attempts], Attempts]) -> Attempts:
        record = how(self._records.get(key) or Attempts())
        self._records[key] = record
        self._records.move_to_end(key)
        while len(self._records) > self._capacity:
            self._records.popitem(last=False)  # the least recently changed goes first
        return record
