"""The event outbox of a SQL unit of work: `stage1_events` rows inserted in the unit's own transaction.

On Postgres the insert also queues a NOTIFY, which Postgres sends only when the transaction commits: it wakes
the listeners of every process, who then read the committed rows (the row carries the event; the NOTIFY only
says "look"). The transaction id is taken before the event id, which the feed's gap rule relies on (see
`adapters.jobs.postgres_events`). On SQLite the unit hands the process's feed a wake-up after the commit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, insert, text

from adapters.jobs.pg import insert_event_sql
from adapters.sql.repositories import Link, SqlRepository
from adapters.sql.tables import events


class SqlEventOutbox(SqlRepository):
    statement = text(insert_event_sql(":type", ":data")).bindparams(bindparam("data", type_=events.c.data.type))

    def __init__(self, link: Link) -> None:
        super().__init__(link)
        self.added = 0  # since the unit's last commit: whether the feed needs a wake-up

    async def add(self, event_type: str, data: dict[str, Any]) -> None:
        if self._dialect == "postgresql":
            await self._execute(self.statement.bindparams(type=event_type, data=data))
        else:
            await self._execute(insert(events).values(type=event_type, data=data, created_at=datetime.now(UTC)))
        self.added += 1
