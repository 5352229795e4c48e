"""How credential guessing is cut off per client: a strict number of tries a minute, and after a few failed
secrets or tokens a lockout that doubles with every further failure (up to a ceiling).

A fixed-window rate limit alone lets a guesser try `limit` values a minute forever; the doubling makes a
long guessing run cost exponentially more time, while a person who mistyped a secret waits a minute.
Times are wall-clock seconds (epoch), so records written by one server process mean the same to another.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

MAX_LOCKOUT_SECONDS: Final = 3600.0
# A record is forgotten this long after its last failure (or the end of its lockout, if later).
FORGET_AFTER_SECONDS: Final = 900.0
WINDOW_SECONDS: Final = 60


@dataclass(frozen=True, slots=True)
class Attempts:
    """What is remembered of one client: its failures and lockout, and its tries in the current minute."""

    failures: int = 0
    locked_until: float = 0.0
    last_failure: float = 0.0
    minute: int = 0  # the minute (epoch seconds // 60) whose tries `tries` counts
    tries: int = 0

    def forgotten(self, now: float) -> bool:
        return now - max(self.last_failure, self.locked_until) > FORGET_AFTER_SECONDS

    def wait(self, now: float) -> float:
        """Seconds this client must still wait before a credential is checked again (0: it may now)."""
        return max(self.locked_until - now, 0.0)


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    lock_after: int
    first_seconds: float
    max_seconds: float = MAX_LOCKOUT_SECONDS

    def after_failure(self, record: Attempts, now: float) -> Attempts:
        """The record once one more failure is counted: the `lock_after`-th starts the first lockout."""
        failures = 1 if record.forgotten(now) else record.failures + 1
        locked_until = 0.0 if record.forgotten(now) else record.locked_until
        over = failures - max(self.lock_after - 1, 0)
        if over > 0:
            first = max(self.first_seconds, 0.0)
            lockout = min(first * 2.0 ** min(over - 1, 32), max(self.max_seconds, first))
            locked_until = max(locked_until, now + lockout)
        return replace(record, failures=failures, locked_until=locked_until, last_failure=now)


def after_try(record: Attempts, now: float) -> Attempts:
    """The record once one more try in the current minute is counted."""
    minute = int(now // WINDOW_SECONDS)
    return replace(record, minute=minute, tries=record.tries + 1 if record.minute == minute else 1)


def window_left(now: float) -> float:
    """Seconds until the current minute's tries are forgotten."""
    return WINDOW_SECONDS - now % WINDOW_SECONDS
