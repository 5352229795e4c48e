"""The checks in front of every credential: a strict number of tries a minute per client, and the doubling
lockout after repeated failures. The ledger decides how far the memory reaches: one process, or (on
Postgres) every server process, so that N processes never give a guesser N times the guesses."""

from __future__ import annotations

from dataclasses import dataclass

from application.ports import AttemptLedger, Clock
from domain.lockout import LockoutPolicy, after_try, window_left


@dataclass(frozen=True, slots=True)
class CredentialGuard:
    ledger: AttemptLedger
    policy: LockoutPolicy
    tries_per_minute: int
    clock: Clock

    def _now(self) -> float:
        return self.clock.now().timestamp()

    async def wait_seconds(self, client: str) -> float:
        """How long `client` must still wait before a credential of theirs is checked (0: now)."""
        record = await self.ledger.get(client)
        return 0.0 if record is None else record.wait(self._now())

    async def failed(self, client: str) -> float:
        """Counts a failed secret or token; answers the lockout it now serves (0 below `lock_after`)."""
        now = self._now()
        record = await self.ledger.change(client, lambda r: self.policy.after_failure(r, now))
        return record.wait(now)

    async def tried(self, client: str) -> float:
        """Counts one try at a credential route; answers how long to wait when over the minute's limit (0:
        within it)."""
        now = self._now()
        record = await self.ledger.change(client, lambda r: after_try(r, now))
        return window_left(now) if record.tries > self.tries_per_minute else 0.0
