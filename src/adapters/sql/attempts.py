"""`AttemptLedger` over `stage1_auth_attempts`: one row per client, changed under a row lock, so that every
server process sharing the database counts the same tries and failures."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, Final

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql import tables as t
from adapters.sql.errors import translated
from domain.lockout import FORGET_AFTER_SECONDS, WINDOW_SECONDS, Attempts

_rows = t.auth_attempts
# Rows nobody needs any more (no lockout, no failure, no try in the last minutes) go about this often.
PRUNE_EVERY_SECONDS: Final = 60.0


def _record(row: Any) -> Attempts:
    return Attempts(row.failures, row.locked_until, row.last_failure, row.minute, row.tries)


def _values(record: Attempts) -> dict[str, Any]:
    return asdict(record)


class SqlAttemptLedger:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._pruned = 0.0

    async def get(self, key: str) -> Attempts | None:
        async with translated(), self._engine.connect() as connection:
            row = (await connection.execute(select(_rows).where(_rows.c.client == key))).first()
        return None if row is None else _record(row)

    async def change(self, key: str, how: Callable[[Attempts], Attempts]) -> Attempts:
        async with translated(), self._engine.begin() as connection:
            dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
            fresh = dialect.insert(_rows).values(client=key, **_values(Attempts()))
            await connection.execute(fresh.on_conflict_do_nothing())
            # The row lock makes a read-change-write of one client's record one step for every process.
            locked = select(_rows).where(_rows.c.client == key).with_for_update()
            record = how(_record((await connection.execute(locked)).one()))
            await connection.execute(update(_rows).where(_rows.c.client == key).values(**_values(record)))
            await self._prune(connection)
        return record

    async def _prune(self, connection: AsyncConnection) -> None:
        now = time.time()
        if now - self._pruned < PRUNE_EVERY_SECONDS:
            return
        self._pruned = now
        stale = now - FORGET_AFTER_SECONDS
        await connection.execute(
            delete(_rows).where(
                func.greatest(_rows.c.last_failure, _rows.c.locked_until) < stale
                if connection.dialect.name == "postgresql"
                else func.max(_rows.c.last_failure, _rows.c.locked_until) < stale,
                _rows.c.minute < int(now // WINDOW_SECONDS) - 1,
            )
        )
