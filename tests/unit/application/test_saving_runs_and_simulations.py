"""A run (or simulation) and its rows in the time-series store land together or not at all."""

from __future__ import annotations

import dataclasses
import re

import pytest
from tests.unit.application.harness import Harness

from application.commands import SaveRun, SaveSimulation, UpsertDataset
from application.datasets import upsert_dataset
from application.runs import save_run
from application.series_ports import FrameUpload
from application.simulations import save_simulation
from domain.datasets import DatasetChanges
from domain.errors import Conflict, InvalidInput, StoreUnavailable

pytestmark = pytest.mark.anyio
START = 1_704_067_200


def predictions(harness: Harness, n: int = 10, fold: int = 1) -> FrameUpload:
    return harness.frame(
        timestamp=[START + i * 3600 for i in range(n)],
        bar_index=list(range(n)),
        fold_number=[fold] * n,
        prediction=[0.5] * n,
        target=[1.0] * n,
        threshold_a=[0.6] * n,
    )


async def a_dataset(harness: Harness) -> None:
    await harness.ports.bind(upsert_dataset)(UpsertDataset("btc", DatasetChanges(symbol="BTC", granularity="1h")))


async def test_a_run_is_saved_with_its_predictions_under_a_fresh_measurement(harness: Harness) -> None:
    await a_dataset(harness)
    saved = await harness.ports.bind(save_run)(SaveRun("btc", predictions=predictions(harness)))
    assert re.fullmatch(r"btc_wf_20251110\d{6}", saved.prediction_measurement)
    assert saved.questdb_rows_written == 10
    assert (await harness.store.describe(saved.prediction_measurement)).row_count == 10
    assert [str(r.run_id) for r in harness.metadata.runs.values()] == [saved.run_id]


async def test_two_runs_in_the_same_second_get_distinct_measurements(harness: Harness) -> None:
    await a_dataset(harness)
    harness.ports.clock.now = lambda: harness.clock.moment  # type: ignore[method-assign]
    first = await harness.ports.bind(save_run)(SaveRun("btc"))
    second = await harness.ports.bind(save_run)(SaveRun("btc"))
    assert first.prediction_measurement != second.prediction_measurement
    assert second.prediction_measurement == first.prediction_measurement + "_2"


async def test_a_run_for_an_unknown_dataset_is_a_conflict_and_writes_nothing(harness: Harness) -> None:
    with pytest.raises(Conflict):
        await harness.ports.bind(save_run)(SaveRun("nope", predictions=predictions(harness)))
    assert harness.metadata.runs == {} and await harness.store.list_measurements() == []


async def test_bad_predictions_leave_no_run_and_no_measurement(harness: Harness) -> None:
    await a_dataset(harness)
    bad = harness.frame(timestamp=[START], bar_index=[0], prediction=[0.5])
    with pytest.raises(InvalidInput):
        await harness.ports.bind(save_run)(SaveRun("btc", predictions=bad))
    assert harness.metadata.runs == {} and await harness.store.list_measurements() == []


async def test_a_failed_metadata_commit_drops_the_new_measurement(harness: Harness) -> None:
    await a_dataset(harness)
    healthy = harness.ports.uow

    def failing_commits():  # type: ignore[no-untyped-def]
        uow = healthy()
        real_commit = uow.commit

        async def commit() -> None:
            if uow.runs.added:  # the name's reservation commits; the run's own commit fails
                raise StoreUnavailable("metadata store went away")
            await real_commit()

        async def add(run):  # type: ignore[no-untyped-def]
            uow.runs.added = True

        uow.runs.added = False
        uow.runs.add = add
        uow.commit = commit
        return uow

    ports = dataclasses.replace(harness.ports, uow=failing_commits)
    written = []
    real_write = harness.store.write

    async def recording_write(measurement, *args, **kwargs):  # type: ignore[no-untyped-def]
        written.append(measurement)
        return await real_write(measurement, *args, **kwargs)

    harness.store.write = recording_write  # type: ignore[method-assign]
    with pytest.raises(StoreUnavailable):
        await ports.bind(save_run)(SaveRun("btc", predictions=predictions(harness)))
    assert len(written) == 1 and written[0].startswith("btc_wf_")  # it was written, then dropped again
    assert harness.metadata.runs == {}
    assert await harness.store.list_measurements() == []
    assert set(harness.metadata.measurement_names) == {"btc_ohlcv", "btc_ind"}  # the run's name released


async def test_a_failed_store_write_leaves_no_run(harness: Harness) -> None:
    await a_dataset(harness)

    async def broken_write(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise StoreUnavailable("QuestDB is down")

    harness.store.write = broken_write  # type: ignore[method-assign]
    with pytest.raises(StoreUnavailable):
        await harness.ports.bind(save_run)(SaveRun("btc", predictions=predictions(harness)))
    assert harness.metadata.runs == {}


async def test_a_simulation_without_buckets_gets_all_long_and_short_from_its_trades(harness: Harness) -> None:
    await a_dataset(harness)
    run = await harness.ports.bind(save_run)(SaveRun("btc"))
    trades = harness.frame(
        bar_timestamp=[START, START + 3600, START + 7200],
        side=["long", "short", "long"],
        entry_price=[1.0, 2.0, 3.0],
        exit_price=[2.0, 1.0, 2.0],
        pnl=[1.0, 1.0, -1.0],
    )
    saved = await harness.ports.bind(save_simulation)(SaveSimulation(run.run_id, trades=trades))
    simulation = next(iter(harness.metadata.simulations.values()))
    buckets = {b.bucket: b for b in simulation.trade_buckets}
    assert (buckets["all"].trade_count, buckets["long"].trade_count, buckets["short"].trade_count) == (3, 2, 1)
    assert buckets["long"].total_pnl == 0.0 and buckets["long"].max_loss == -1.0
    assert simulation.trade_count == 3 and saved.questdb_rows_written == 3
    assert saved.trades_measurement.startswith("btc_sim_")


async def test_a_simulation_for_an_unknown_run_is_a_conflict(harness: Harness) -> None:
    with pytest.raises(Conflict):
        await harness.ports.bind(save_simulation)(SaveSimulation("00000000-0000-0000-0000-00000000abcd"))
