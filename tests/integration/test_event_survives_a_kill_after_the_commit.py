"""The outbox on a real process and a real Postgres: a process that creates a dataset is SIGKILLed after the
transaction carrying the dataset's event has committed and before any NOTIFY could wake a reader
(outbox_writer_process.py withholds it). The event was a row of that transaction, so a subscriber that resumes
gets it: on the server that was following the feed, and on one started afterwards."""

from __future__ import annotations

import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from tests.integration.test_worker_killed_mid_import import production_stores

from adapters.jobs import pg
from adapters.jobs.postgres_events import PostgresEventFeed
from application.ports import Event
from domain.events import EventType

pytestmark = pytest.mark.anyio

WRITER = Path(__file__).with_name("outbox_writer_process.py")


async def first(events: AsyncIterator[Event], timeout: float = 10.0) -> Event:
    with anyio.fail_after(timeout):
        event = await anext(events)
    await events.aclose()  # type: ignore[attr-defined]
    return event


async def test_a_writer_killed_between_its_commit_and_its_notify_loses_no_event(tmp_path: Path) -> None:
    slug = f"outbox_{uuid.uuid4().hex[:8]}"
    with production_stores(tmp_path) as env:
        url = env["STAGE1_DATABASE_URL"]
        env["STAGE1_TIMESERIES"] = "memory"  # the dataset has no rows: only the metadata store matters here
        pool = await pg.create_pool(url, max_size=3)
        # No polling: only a NOTIFY or a resuming subscriber makes this feed look at the table.
        feed = PostgresEventFeed(pool, url, poll_interval=3600)
        restarted = PostgresEventFeed(pool, url, poll_interval=3600)
        live: list[Event] = []
        writer = await anyio.open_process([sys.executable, str(WRITER), slug], env=env, cwd=tmp_path)
        try:
            async with anyio.create_task_group() as tg:

                async def follow() -> None:
                    async for event in feed.subscribe(None, last_event_id=0):
                        live.append(event)

                tg.start_soon(follow)
                assert writer.stdout is not None
                with anyio.fail_after(180):  # a loaded machine starts a process in tens of seconds
                    line = await writer.stdout.receive()
                assert line.startswith(b"committed"), line
                writer.send_signal(signal.SIGKILL)
                with anyio.fail_after(10):
                    await writer.wait()

                await anyio.sleep(1.0)
                assert live == [], "nothing may have woken the feed: the writer died before its NOTIFY"

                resumed = await first(feed.subscribe(None, last_event_id=0))
                on_a_new_server = await first(restarted.subscribe(None, last_event_id=0))
                with anyio.fail_after(10):
                    while not live:  # noqa: ASYNC110 - the live follower is woken by the resume
                        await anyio.sleep(0.05)
                tg.cancel_scope.cancel()
        finally:
            if writer.returncode is None:
                writer.kill()
                await writer.wait()
            await feed.close()
            await restarted.close()
            await pool.close()
    for event in (resumed, on_a_new_server, live[0]):
        assert (event.type, event.data["dataset_slug"]) == (EventType.DATASET_UPDATED, slug)
    assert resumed.id == on_a_new_server.id == live[0].id
