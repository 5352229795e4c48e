"""Finished jobs are pruned by the worker's periodic pass and by `stage1 jobs prune`; `stage1 gc` prints what
the orphans route answers."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import anyio
import pytest
from click.testing import CliRunner
from tests.unit.application.harness import Harness

from domain.jobs import Job, JobStatus, JobType
from entrypoints.cli import main
from entrypoints.settings import Settings
from entrypoints.worker_runtime import prune_periodically


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


def finished_job(harness: Harness, days_ago: float) -> Job:
    now = harness.clock.now()
    job = Job.submit(harness.ports.ids.new_id(), JobType.NOOP, {}, now)
    job.status, job.completed_at = JobStatus.COMPLETED, now - timedelta(days=days_ago)
    harness.metadata.jobs[job.job_id] = job
    return job


@pytest.mark.anyio
async def test_the_worker_prunes_jobs_past_the_retention_on_its_own(harness: Harness, tmp_path: Path) -> None:
    old, recent = finished_job(harness, 8), finished_job(harness, 1)
    settings = Settings(data_dir=tmp_path, job_retention_days=7, _env_file=None)
    with anyio.move_on_after(0.3):
        await prune_periodically(harness.ports, settings, every=0.01)
    assert old.job_id not in harness.metadata.jobs and recent.job_id in harness.metadata.jobs


def test_the_commands_prune_and_report_orphans_on_the_embedded_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [name for name in os.environ if name.startswith("STAGE1_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("STAGE1_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    pruned = runner.invoke(main, ["jobs", "prune", "--older-than", "0s"])
    assert pruned.exit_code == 0, pruned.output
    assert json.loads(pruned.output) == {"pruned": 0}
    assert runner.invoke(main, ["jobs", "prune", "--older-than", "soon"]).exit_code != 0
    found = runner.invoke(main, ["gc"])
    assert found.exit_code == 0, found.output
    assert json.loads(found.output) == {"unowned_measurements": [], "missing_measurements": [], "free_measurements": []}
    applied = runner.invoke(main, ["gc", "--apply"])
    assert json.loads(applied.output)["dropped"] == []
