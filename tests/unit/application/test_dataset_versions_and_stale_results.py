"""Dataset versions follow changes of the rows, and runs and simulations saved before turn stale only when
a later version changed bars they used (through in-memory fakes)."""

from __future__ import annotations

import pytest
from tests.unit.application.harness import Harness

from application.commands import BackfillDataset, SaveRun, SaveSimulation, UploadDatasetFrames, UpsertDataset
from application.dataset_queries import dataset_versions
from application.datasets import backfill_dataset, upload_dataset_frames, upsert_dataset
from application.ports import RunFilter
from application.runs import get_run, list_runs, save_run
from application.search import SearchRequest, build_query, search_runs
from application.series_ports import FrameUpload
from application.simulations import get_simulation, save_simulation
from domain.datasets import DatasetChanges
from domain.frames import FrameKind, WriteMode
from domain.paging import PageRequest
from domain.search.fields import RUNS

pytestmark = pytest.mark.anyio
START = 1_704_067_200
HOUR = 3600


def bars(harness: Harness, n: int, start: int = START, close: float = 1.5) -> FrameUpload:
    return harness.frame(
        timestamp=[start + i * HOUR for i in range(n)],
        open=[1.0] * n,
        high=[2.0] * n,
        low=[0.5] * n,
        close=[close] * n,
        volume=[10.0] * n,
    )


async def upload(harness: Harness, frame: FrameUpload, mode: WriteMode = WriteMode.APPEND) -> int:
    saved = await harness.ports.bind(upload_dataset_frames)(UploadDatasetFrames("btc", {FrameKind.OHLCV: frame}, mode))
    return saved.dataset.version


async def versions(harness: Harness) -> list[tuple[int, int | None]]:
    page = await harness.ports.bind(dataset_versions)("btc", PageRequest.of(100))
    return [(v.version, v.changed_from_ts) for v in page.items]


async def test_each_change_of_the_rows_is_a_version_and_identical_rows_are_none(harness: Harness) -> None:
    created = await harness.ports.bind(upsert_dataset)(
        UpsertDataset("btc", DatasetChanges(symbol="BTC", granularity="1h"), {FrameKind.OHLCV: bars(harness, 10)})
    )
    assert created.dataset.version == 1
    assert await upload(harness, bars(harness, 10)) == 1  # the same bars again
    assert await upload(harness, bars(harness, 10), WriteMode.REPLACE) == 1
    assert await upload(harness, bars(harness, 5, START + 10 * HOUR)) == 2  # newer bars
    assert await upload(harness, bars(harness, 1, START + 3 * HOUR, close=9.0)) == 3  # bar 3 edited
    assert await versions(harness) == [(3, START + 3 * HOUR), (2, START + 10 * HOUR), (1, START)]
    page = await harness.ports.bind(dataset_versions)("btc", PageRequest.of(100))
    latest, first = page.items[0], page.items[-1]
    assert (latest.ohlcv_rows, latest.ohlcv_first_ts, latest.ohlcv_last_ts) == (15, START, START + 14 * HOUR)
    assert first.ohlcv_checksum != latest.ohlcv_checksum and first.ohlcv_rows == 10


async def test_a_dataset_without_rows_is_version_0_with_no_versions(harness: Harness) -> None:
    saved = await harness.ports.bind(upsert_dataset)(UpsertDataset("btc", DatasetChanges(symbol="BTC")))
    assert saved.dataset.version == 0 and await versions(harness) == []


async def test_runs_turn_stale_when_used_bars_change_and_stay_fresh_when_bars_are_appended(harness: Harness) -> None:
    await harness.ports.bind(upsert_dataset)(
        UpsertDataset("btc", DatasetChanges(symbol="BTC", granularity="1h"), {FrameKind.OHLCV: bars(harness, 10)})
    )
    saved = await harness.ports.bind(save_run)(SaveRun("btc"))
    sim = await harness.ports.bind(save_simulation)(SaveSimulation(saved.run_id))
    run = await harness.ports.bind(get_run)(saved.run_id)
    assert (run.dataset_version, run.stale, run.stale_reason) == (1, False, None)

    await upload(harness, bars(harness, 5, START + 10 * HOUR))
    run = await harness.ports.bind(get_run)(saved.run_id)
    assert run.stale is False and run.stale_reason is not None and "newer bars appended" in run.stale_reason

    await upload(harness, bars(harness, 1, START + 9 * HOUR, close=7.0))
    run = await harness.ports.bind(get_run)(saved.run_id)
    assert run.stale is True and run.stale_reason is not None
    assert "version 3" in run.stale_reason and "version 1" in run.stale_reason
    simulation = await harness.ports.bind(get_simulation)(sim.simulation_id)
    assert (simulation.dataset_version, simulation.stale) == (1, True)

    fresh = await harness.ports.bind(save_run)(SaveRun("btc"))
    listed = await harness.ports.bind(list_runs)(RunFilter(), PageRequest.of(10))
    assert {str(r.run_id): r.stale for r in listed.items} == {saved.run_id: True, fresh.run_id: False}
    for text, expected in (("stale = true", saved.run_id), ("stale = false", fresh.run_id)):
        found = await harness.ports.bind(search_runs)(build_query(SearchRequest(filter=text), RUNS))
        assert [str(record.run.run_id) for record in found.items] == [expected]


async def test_a_backfill_over_the_same_rows_records_no_new_version(harness: Harness) -> None:
    await harness.ports.bind(upsert_dataset)(
        UpsertDataset("btc", DatasetChanges(symbol="BTC", granularity="1h"), {FrameKind.OHLCV: bars(harness, 4)})
    )
    backfill = harness.ports.bind(backfill_dataset)
    await upload_indicators(harness)  # a backfill needs both measurements
    before = await versions(harness)
    again = await backfill(BackfillDataset("btc", "BTC", "1h", "btc_ohlcv", "btc_ind"))
    assert again.dataset.version == before[0][0] and await versions(harness) == before


async def upload_indicators(harness: Harness) -> None:
    frame = harness.frame(timestamp=[START + i * HOUR for i in range(4)], rsi=[50.0, 51.0, None, 53.0])
    await harness.ports.bind(upload_dataset_frames)(UploadDatasetFrames("btc", {FrameKind.INDICATORS: frame}))
