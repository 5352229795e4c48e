"""A job's payload is an application command; every job type is safe to run twice (same answer, one write)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from msgspec import to_builtins
from tests.unit.application.harness import Harness

from application.commands import ImportFrame, SaveRun, SaveSimulation, UpsertDataset
from application.datasets import upsert_dataset
from domain.datasets import DatasetChanges
from domain.jobs import Job, JobType
from domain.runs import Fold, RunDetails
from entrypoints.worker_jobs import handlers, release_finished_uploads

pytestmark = pytest.mark.anyio
START = 1_704_067_200


class SilentProgress:
    def __init__(self) -> None:
        self.reports: list[int] = []

    async def report(self, progress: int, total: int | None = None, message: str | None = None) -> None:
        self.reports.append(progress)


def a_job(job_type: str, payload: dict) -> Job:  # type: ignore[type-arg]
    return Job.submit(uuid4(), job_type, payload, datetime(2025, 11, 10, tzinfo=UTC))


async def test_a_run_persist_job_run_twice_saves_one_run_with_its_rows_once(harness: Harness) -> None:
    await harness.ports.bind(upsert_dataset)(UpsertDataset("btc", DatasetChanges()))
    upload = harness.frame(
        timestamp=[START, START + 60], bar_index=[0, 1], fold_number=[1, 1], prediction=[0.4, 0.6], target=[0.0, 1.0]
    )
    job = a_job(
        JobType.RUN_PERSIST, {"command": to_builtins(SaveRun("btc", RunDetails(folds=[Fold(1)]), predictions=upload)), "uploads": []}
    )
    handler = handlers(harness.ports)[JobType.RUN_PERSIST]
    first = await handler(job, SilentProgress())
    again = await handler(job, SilentProgress())
    assert again == first and first["questdb_rows_written"] == 2
    assert len(harness.metadata.runs) == 1
    assert (await harness.store.describe(first["prediction_measurement"])).row_count == 2


async def test_a_simulation_persist_job_run_twice_saves_one_simulation(harness: Harness) -> None:
    await harness.ports.bind(upsert_dataset)(UpsertDataset("btc", DatasetChanges()))
    run = await handlers(harness.ports)[JobType.RUN_PERSIST](
        a_job(JobType.RUN_PERSIST, {"command": to_builtins(SaveRun("btc")), "uploads": []}), SilentProgress()
    )
    trades = harness.frame(bar_timestamp=[START], side=["long"], entry_price=[1.0], exit_price=[2.0], pnl=[1.0])
    command = SaveSimulation(run["run_id"], trades=trades)
    job = a_job(JobType.SIMULATION_PERSIST, {"command": to_builtins(command), "uploads": []})
    handler = handlers(harness.ports)[JobType.SIMULATION_PERSIST]
    assert await handler(job, SilentProgress()) == await handler(job, SilentProgress())
    assert len(harness.metadata.simulations) == 1


async def test_an_import_job_reports_rows_as_progress_and_its_upload_goes_only_once_its_completion_is_stored(
    harness: Harness,
) -> None:
    upload = harness.frame(timestamp=[START + i for i in range(5)], x=[1.0] * 5)
    job = a_job(
        JobType.QUESTDB_IMPORT,
        {"measurement": "m", "command": to_builtins(ImportFrame("m", upload)), "uploads": [upload.path]},
    )
    progress = SilentProgress()
    result = await handlers(harness.ports)[JobType.QUESTDB_IMPORT](job, progress)
    assert result["rows_written"] == 5 and progress.reports[-1] == 5
    # The attempt may have lost its lease meanwhile: the worker that took the job over still reads the upload.
    assert (harness.tmp / upload.path).exists()
    job.claim("w", job.created_at, timedelta(seconds=30))
    job.fail("boom", job.created_at, retryable=False)
    release_finished_uploads(job)
    assert (harness.tmp / upload.path).exists(), "a FAILED job keeps its upload for a retry"
    job.retry(job.created_at)
    job.claim("w", job.created_at, timedelta(seconds=30))
    job.complete(result, job.created_at)
    release_finished_uploads(job)
    assert not (harness.tmp / upload.path).exists()
