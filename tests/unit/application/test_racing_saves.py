"""Saves that race each other, on the in-memory fakes: they follow the stores' rules (one holder per
measurement name, one record per slug), so the use cases answer as they do on Postgres and SQLite."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from tests.unit.application.harness import Harness

from application.commands import SaveRun, UpsertDataset
from application.datasets import upsert_dataset
from application.ports import NameState
from application.runs import save_run
from domain.datasets import DatasetChanges
from domain.errors import Conflict, InvalidInput
from domain.frames import FrameKind

pytestmark = pytest.mark.anyio
START = 1_704_067_200
BARS = 50


def bars(harness: Harness) -> None:
    return harness.frame(
        timestamp=[START + i * 3600 for i in range(BARS)],
        open=[1.0] * BARS,
        high=[2.0] * BARS,
        low=[0.5] * BARS,
        close=[1.5] * BARS,
        volume=[10.0] * BARS,
    )


def slow_writes(harness: Harness) -> None:
    """Every write yields to the other saves first, so they overlap as they do under load."""
    real_write = harness.store.write

    async def write(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.01)
        return await real_write(*args, **kwargs)

    harness.store.write = write


async def test_parallel_creates_of_one_slug_give_one_create_and_updates_that_keep_the_rows(harness: Harness) -> None:
    slow_writes(harness)
    command = lambda: UpsertDataset(  # noqa: E731
        "btc", DatasetChanges(symbol="BTC", granularity="1h"), frames={FrameKind.OHLCV: bars(harness)}
    )

    saved = await asyncio.gather(*(harness.ports.bind(upsert_dataset)(command()) for _ in range(5)))

    assert Counter(result.created for result in saved) == {True: 1, False: 4}
    assert len(harness.metadata.datasets) == 1 and {result.dataset.dataset_id for result in saved} == set(
        harness.metadata.datasets
    )
    [dataset] = harness.metadata.datasets.values()
    assert dataset.ohlcv_measurement == "btc_ohlcv" and dataset.stored_stats(FrameKind.OHLCV)[0] == BARS
    assert (await harness.store.describe("btc_ohlcv")).row_count == BARS
    assert {name: held.state for name, held in harness.metadata.measurement_names.items()} == {
        "btc_ohlcv": NameState.OWNED,
        "btc_ind": NameState.OWNED,
    }


async def test_a_create_that_fails_releases_its_names_and_drops_only_what_it_wrote(harness: Harness) -> None:
    broken = harness.frame(timestamp=[START], open=[1.0])  # no high, low, close, volume

    with pytest.raises(InvalidInput):
        await harness.ports.bind(upsert_dataset)(
            UpsertDataset("eth", DatasetChanges(), frames={FrameKind.OHLCV: broken})
        )

    assert harness.metadata.datasets == {} and harness.metadata.measurement_names == {}
    assert await harness.store.list_measurements() == []


async def test_a_dataset_default_name_another_record_holds_takes_the_next_free_one(harness: Harness) -> None:
    await harness.ports.bind(upsert_dataset)(UpsertDataset("btc", DatasetChanges()))
    await harness.ports.bind(save_run)(SaveRun("btc", prediction_measurement="sol_ohlcv"))

    saved = await harness.ports.bind(upsert_dataset)(UpsertDataset("sol", DatasetChanges()))

    assert (saved.dataset.ohlcv_measurement, saved.dataset.indicator_measurement) == ("sol_ohlcv_2", "sol_ind")


async def test_a_dataset_that_asks_for_a_name_another_record_holds_is_a_conflict(harness: Harness) -> None:
    await harness.ports.bind(upsert_dataset)(UpsertDataset("btc", DatasetChanges()))

    with pytest.raises(Conflict):
        await harness.ports.bind(upsert_dataset)(UpsertDataset("sol", DatasetChanges(ohlcv_measurement="btc_ind")))

    assert len(harness.metadata.datasets) == 1
