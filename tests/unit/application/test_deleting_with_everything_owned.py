"""Deletes through the use cases and fakes: the drop is a durable job queued with the delete, it is safe to
run again, a name stays held until its drop is done, jobs are pruned with their kept uploads, and gc drops
only what the service created for records that are gone."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from uuid import UUID

import msgspec
import pytest
from tests.unit.application.harness import Harness

from application.commands import DropMeasurements, UpsertDataset
from application.datasets import upsert_dataset
from application.deletion import DeleteOptions, delete_record, drop_measurements
from application.jobs import prune_jobs
from application.maintenance import collect_garbage, find_orphans
from application.ports import NameState
from application.series_ports import FrameUpload
from domain.datasets import DatasetChanges
from domain.frames import FrameKind
from domain.jobs import Job, JobStatus, JobType

pytestmark = pytest.mark.anyio


def bars(harness: Harness, n: int) -> FrameUpload:
    return harness.frame(
        timestamp=[1_704_067_200 + i * 3600 for i in range(n)],
        open=[1.0] * n,
        high=[2.0] * n,
        low=[0.5] * n,
        close=[1.5] * n,
        volume=[10.0] * n,
    )


async def create(harness: Harness, slug: str, rows: int) -> str:
    saved = await harness.ports.bind(upsert_dataset)(
        UpsertDataset(slug, DatasetChanges(symbol="X"), {FrameKind.OHLCV: bars(harness, rows)})
    )
    return str(saved.dataset.ohlcv_measurement)


def drop_command(harness: Harness) -> DropMeasurements:
    (job,) = [j for j in harness.metadata.jobs.values() if j.type == JobType.MEASUREMENT_DROP]
    return msgspec.convert(job.payload["command"], DropMeasurements)


def dataset_id(harness: Harness, slug: str) -> UUID:
    return next(d.dataset_id for d in harness.metadata.datasets.values() if d.dataset_slug == slug)


async def rows_of(harness: Harness, name: str) -> int | None:
    info = await harness.store.describe(name)  # type: ignore[arg-type]
    return None if info is None else info.row_count


async def test_the_delete_commits_its_drop_job_and_the_name_stays_held_until_the_drop_is_done(
    harness: Harness,
) -> None:
    old = await create(harness, "eth", 5)
    answer = await harness.ports.bind(delete_record)("dataset", "eth", DeleteOptions())
    assert answer["deleted"]["measurements"] == [old]
    # Committed with the delete: the job to drop it, and the name, held.
    assert drop_command(harness).measurements == ["eth_ind", "eth_ohlcv"]
    assert harness.metadata.measurement_names[old].state is NameState.DROPPING
    assert await rows_of(harness, old) == 5
    # The slug made again before the drop ran gets the next free name; the late drop leaves it alone.
    new = await create(harness, "eth", 3)
    assert new == "eth_ohlcv_2"
    drop = harness.ports.bind(drop_measurements)
    await drop(drop_command(harness))
    assert await rows_of(harness, old) is None and await rows_of(harness, new) == 3
    assert old not in harness.metadata.measurement_names
    # Run again (a retry after a crash past the drop): the name is free now, nothing else happens.
    await create(harness, "sol", 2)
    again = await drop(drop_command(harness))
    assert again["dropped"] == [] and await rows_of(harness, new) == 3


async def test_a_drop_run_again_after_the_name_was_taken_anew_never_touches_the_new_rows(harness: Harness) -> None:
    old = await create(harness, "btc", 4)
    await harness.ports.bind(delete_record)("dataset", "btc", DeleteOptions())
    command = drop_command(harness)
    drop = harness.ports.bind(drop_measurements)
    await drop(command)
    assert await create(harness, "btc", 2) == old  # the name is free once dropped
    await drop(command)
    assert await rows_of(harness, old) == 2


async def test_a_dry_run_deletes_nothing_and_queues_nothing(harness: Harness) -> None:
    name = await create(harness, "ada", 3)
    answer = await harness.ports.bind(delete_record)("dataset", "ada", DeleteOptions(dry_run=True))
    assert answer == {"deleted": {"datasets": 1, "runs": 0, "simulations": 0, "measurements": [name]}}
    assert harness.metadata.jobs == {} and harness.metadata.measurement_names[name].state is NameState.OWNED
    assert len(harness.metadata.datasets) == 1


async def test_pruning_removes_old_finished_jobs_with_their_kept_uploads_and_leaves_the_rest(
    harness: Harness, tmp_path: Path
) -> None:
    now = harness.clock.now()
    kept_upload = tmp_path / "upload-a"
    kept_upload.write_bytes(b"x")
    old = Job.submit(harness.ports.ids.new_id(), JobType.QUESTDB_IMPORT, {"uploads": [str(kept_upload)]}, now)
    old.status, old.completed_at = JobStatus.FAILED, now - timedelta(days=31)
    recent = Job.submit(harness.ports.ids.new_id(), JobType.NOOP, {}, now)
    recent.status, recent.completed_at = JobStatus.COMPLETED, now - timedelta(days=1)
    pending = Job.submit(harness.ports.ids.new_id(), JobType.NOOP, {}, now - timedelta(days=90))
    for job in (old, recent, pending):
        harness.metadata.jobs[job.job_id] = job
    assert await harness.ports.bind(prune_jobs)(timedelta(days=30)) == 1
    assert set(harness.metadata.jobs) == {recent.job_id, pending.job_id}
    assert not kept_upload.exists()


async def test_gc_drops_only_measurements_whose_records_are_gone_never_a_users_own_table(harness: Harness) -> None:
    name = await create(harness, "doge", 3)
    await create(harness, "kept", 2)
    users = await create(harness, "users", 2)
    # A user's own table: written without any record (as `/api/questdb/import` does).
    harness.metadata.measurement_names.pop(users)
    harness.metadata.datasets.pop(dataset_id(harness, "users"))
    # A record removed behind the service's back (a desktop deleting the row itself).
    harness.metadata.datasets.pop(dataset_id(harness, "doge"))
    found = await harness.ports.bind(find_orphans)()
    assert found.unowned_measurements == [name]
    assert found.free_measurements == [users]
    _, dropped = await harness.ports.bind(collect_garbage)()
    assert dropped == [name]
    assert await rows_of(harness, name) is None and await rows_of(harness, users) == 2
    assert await rows_of(harness, "kept_ohlcv") == 2
    after = await harness.ports.bind(find_orphans)()
    assert after.unowned_measurements == [] and after.free_measurements == [users]
