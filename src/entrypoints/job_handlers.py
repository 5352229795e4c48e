"""What each job type does: decode its payload the way the HTTP edge decodes a request, then run the
same use case. Every handler is safe to run twice (store dedup keys, idempotent metadata writes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from application import datasets, runs, simulations, timeseries
from application.context import Ports
from application.idempotency import IdempotencyKey
from application.job_handlers import JobCancelled, JobHandler, JobHandlers, ProgressReporter
from application.ports import FrameUpload
from domain.errors import InvalidInput, UnsupportedFormat
from domain.frames import FrameKind, WriteMode
from domain.jobs import Job
from entrypoints.http import schemas as s
from entrypoints.http.runs import run_command
from entrypoints.http.simulations import simulation_command

Progress = ProgressReporter


def handlers(ports: Ports) -> JobHandlers:
    async def questdb_import(job: Job, progress: Progress) -> dict[str, Any]:
        payload = job.payload
        command = timeseries.ImportFrame(
            payload["measurement"],
            FrameUpload(payload["file"]),
            FrameKind(payload["kind"]),
            WriteMode(payload["mode"]),
        )

        async def on_rows(rows: int) -> None:
            await progress.report(rows, None, f"{rows} rows written")

        report = await timeseries.import_frame(ports, command, on_rows)
        return report.as_dict()

    async def dataset_export(job: Job, progress: Progress) -> dict[str, Any]:
        payload = job.payload
        frames = {FrameKind(kind): FrameUpload(path) for kind, path in payload["frames"].items()}
        saved = await datasets.export_dataset_frames(ports, payload["dataset_ref"], frames, WriteMode(payload["mode"]))
        return {
            "dataset_id": str(saved.dataset.dataset_id),
            "rows_written": {kind.value: rows for kind, rows in saved.written.items()},
        }

    async def run_persist(job: Job, progress: Progress) -> dict[str, Any]:
        body = msgspec.convert(job.payload["body"], s.RunIn)
        path = job.payload.get("predictions")
        command = run_command(body, FrameUpload(path) if path else None, once_per_job(job, "runs.save"))
        return (await runs.save_run(ports, command)).as_dict()

    async def simulation_persist(job: Job, progress: Progress) -> dict[str, Any]:
        body = msgspec.convert(job.payload["body"], s.SimulationIn)
        path = job.payload.get("trades")
        command = simulation_command(body, FrameUpload(path) if path else None, once_per_job(job, "simulations.save"))
        return (await simulations.save_simulation(ports, command)).as_dict()

    async def noop(job: Job, progress: Progress) -> dict[str, Any]:
        return {}

    table: dict[str, JobHandler] = {
        "questdb_import": questdb_import,
        "dataset_export": dataset_export,
        "run_persist": run_persist,
        "simulation_persist": simulation_persist,
        "noop": noop,
    }
    return JobHandlers({name: owning_uploads(handler) for name, handler in table.items()})


def once_per_job(job: Job, scope: str) -> IdempotencyKey:
    """A job run twice (a retry after its worker died past the commit) answers the first save."""
    return IdempotencyKey(f"job:{job.job_id}", scope, "job")


def owning_uploads(handler: JobHandler) -> JobHandler:
    """The job owns the request's spooled files: they go once it succeeds or can no longer be retried."""

    async def run(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        try:
            result = await handler(job, progress)
        except (JobCancelled, InvalidInput, UnsupportedFormat):
            release_uploads(job)
            raise
        except BaseException:
            if job.attempts >= job.max_attempts:
                release_uploads(job)
            raise
        release_uploads(job)
        return result

    return run


def release_uploads(job: Job) -> None:
    for path in job.payload.get("uploads", []):
        Path(path).unlink(missing_ok=True)
