"""Credential guessing is cut off per client address: after a few failed secrets or tokens, the address is
locked out, and every further failure doubles the wait (up to a ceiling).

A fixed-window rate limit alone lets a guesser try `limit` values a minute forever; the doubling makes a
long guessing run cost exponentially more time, while a person who mistyped a secret waits a minute.
The state lives in the process, like Litestar's rate-limit store: each server process guards itself.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException

MAX_LOCKOUT_SECONDS: Final = 3600.0
# A record is forgotten this long after its last failure (or the end of its lockout, if later).
FORGET_AFTER_SECONDS: Final = 900.0
# Addresses are remembered in a bounded table, so a flood of distinct addresses cannot grow it for ever.
MAX_ADDRESSES: Final = 100_000


class LockedOut(HTTPException):
    status_code = 429


@dataclass(slots=True)
class _Record:
    failures: int = 0
    locked_until: float = 0.0
    last_failure: float = 0.0


class FailureLockout:
    def __init__(
        self,
        lock_after: int,
        first_lockout_seconds: float,
        *,
        max_lockout_seconds: float = MAX_LOCKOUT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        capacity: int = MAX_ADDRESSES,
    ) -> None:
        self._capacity = capacity
        self._free = max(lock_after - 1, 0)  # the `lock_after`-th failure starts the first lockout
        self._first = max(first_lockout_seconds, 0.0)
        self._max = max(max_lockout_seconds, self._first)
        self._clock = clock
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def _current(self, key: str) -> _Record | None:
        record = self._records.get(key)
        if record is None:
            return None
        now = self._clock()
        if now - max(record.last_failure, record.locked_until) > FORGET_AFTER_SECONDS:
            del self._records[key]
            return None
        return record

    def wait_seconds(self, key: str) -> float:
        """How long `key` must still wait before it may try again (0 when it may now)."""
        record = self._current(key)
        return 0.0 if record is None else max(record.locked_until - self._clock(), 0.0)

    def failed(self, key: str) -> float:
        """Counts a failure of `key`; answers the lockout it now serves (0 while below `lock_after` failures)."""
        record = self._current(key) or _Record()
        now = self._clock()
        record.failures += 1
        record.last_failure = now
        over = record.failures - self._free
        if over > 0:
            lockout = min(self._first * 2.0 ** min(over - 1, 32), self._max)
            record.locked_until = max(record.locked_until, now + lockout)
        self._records[key] = record
        self._records.move_to_end(key)
        while len(self._records) > self._capacity:
            self._records.popitem(last=False)
        return max(record.locked_until - now, 0.0)

    def check(self, key: str) -> None:
        """A 429 with `Retry-After` while `key` is locked out."""
        wait = self.wait_seconds(key)
        if wait > 0:
            raise locked_out(wait)


def locked_out(wait: float) -> LockedOut:
    seconds = max(math.ceil(wait), 1)
    return LockedOut(
        detail="too many failed attempts from this address; try again later",
        headers={"Retry-After": str(seconds)},
        extra={"retry_after_seconds": seconds},
    )


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    client = connection.client
    return client.host if client and client.host else "unknown"
