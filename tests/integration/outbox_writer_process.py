"""A `stage1` process that dies between a commit and its NOTIFY, for the outbox kill test: it creates the
dataset named on its command line through the real use case, its units of work write their events without the
NOTIFY, and once the transaction carrying the event has committed it prints `committed` and hangs, so the test
can SIGKILL it before it could wake anyone.

    python outbox_writer_process.py SLUG        (settings from the STAGE1_* environment, like `stage1 serve`)
"""

from __future__ import annotations

import dataclasses
import sys

import anyio
from sqlalchemy import bindparam, text

from adapters.jobs.pg import insert_event_sql
from adapters.sql.outbox import SqlEventOutbox
from adapters.sql.tables import events
from adapters.sql.uow import SqlUnitOfWork, SqlUnitOfWorkFactory
from application.commands import UpsertDataset
from application.datasets import upsert_dataset
from application.ports import UnitOfWork
from domain.datasets import DatasetChanges
from entrypoints.container import open_ports
from entrypoints.settings import Settings


class SilentOutbox(SqlEventOutbox):
    statement = text(insert_event_sql(":type", ":data", notify=False)).bindparams(
        bindparam("data", type_=events.c.data.type)
    )


class DyingAfterTheCommit(SqlUnitOfWork):
    def __init__(self, factory: SqlUnitOfWorkFactory) -> None:
        super().__init__(factory.engine, factory.name_lease)
        self._outbox = SilentOutbox(self)
        self.events = self._outbox

    async def commit(self) -> None:
        carries_events = self._outbox.added > 0
        await super().commit()
        if carries_events:
            print("committed", flush=True)
            await anyio.sleep_forever()


class Factory:
    def __init__(self, real: SqlUnitOfWorkFactory) -> None:
        self._real = real

    def __call__(self) -> UnitOfWork:
        return DyingAfterTheCommit(self._real)


async def main(slug: str) -> None:
    async with open_ports(Settings()) as ports:
        assert isinstance(ports.uow, SqlUnitOfWorkFactory)
        dying = dataclasses.replace(ports, uow=Factory(ports.uow))
        await dying.bind(upsert_dataset)(UpsertDataset(slug, DatasetChanges(symbol="BTC", granularity="1h")))


if __name__ == "__main__":
    anyio.run(main, sys.argv[1])
