"""The embedded composition (SQLite metadata): units of work hand their committed events to the process's feed,
and the feed keeps events as long as finished jobs (one retention)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import anyio
import pytest

from application.commands import UpsertDataset
from application.datasets import upsert_dataset
from domain.datasets import DatasetChanges
from domain.events import EventType
from entrypoints.container import open_ports
from entrypoints.settings import Settings

pytestmark = pytest.mark.anyio


async def test_a_dataset_saved_through_the_embedded_ports_reaches_a_subscriber_with_the_retention_of_jobs(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, timeseries="memory", job_retention_days=2, _env_file=None)
    async with open_ports(settings) as ports:
        assert ports.feed.retention == timedelta(days=2)  # type: ignore[attr-defined]
        save = ports.bind(upsert_dataset)
        events = ports.feed.subscribe({EventType.DATASET_UPDATED}, last_event_id=0)
        await save(UpsertDataset("embedded_eth", DatasetChanges(symbol="ETH")))
        got = []
        with anyio.fail_after(10):
            got.append(await anext(events))  # the subscriber follows the feed live from here on
            await save(UpsertDataset("embedded_btc", DatasetChanges(symbol="BTC")))
            got.append(await anext(events))
        await events.aclose()  # type: ignore[attr-defined]
        resumed = ports.feed.subscribe(None, last_event_id=got[0].id)
        with anyio.fail_after(10):
            replayed = await anext(resumed)
        await resumed.aclose()  # type: ignore[attr-defined]
    assert [e.data["dataset_slug"] for e in got] == ["embedded_eth", "embedded_btc"]
    assert (replayed.id, replayed.data) == (got[1].id, got[1].data)
