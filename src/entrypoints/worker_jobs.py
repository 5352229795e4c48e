"""What each job type runs: the job's payload holds an application command, decoded here and handed to
the same use case the HTTP edge calls. Every handler is safe to run twice (store dedup keys, idempotent
metadata writes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from adapters.frames.spooled_files import LocalSpooledFiles
from application import datasets, deletion, runs, simulations, timeseries
from application.commands import DropMeasurements, ImportFrame, SaveRun, SaveSimulation, UploadDatasetFrames
from application.idempotency import IdempotencyKey
from application.job_registry import JobCancelled, JobHandler, JobHandlers, ProgressReporter
from application.jobs import uploads_of
from application.worker import Summary
from domain.errors import InvalidInput, Stage1Error
from domain.jobs import Job, JobStatus, JobType
from entrypoints.container import OpenPorts

Progress = ProgressReporter


def handlers(ports: OpenPorts) -> JobHandlers:
    import_frame = ports.bind(timeseries.import_frame)
    upload_dataset_frames = ports.bind(datasets.upload_dataset_frames)
    save_run = ports.bind(runs.save_run)
    save_simulation = ports.bind(simulations.save_simulation)
    drop_measurements = ports.bind(deletion.drop_measurements)

    async def questdb_import(job: Job, progress: Progress) -> dict[str, Any]:
        command = msgspec.convert(job.payload["command"], ImportFrame)

        async def on_rows(rows: int, total: int | None, phase: str) -> None:
            # While the upload is checked its size is unknown; once counted, `total` is set for the write.
            said = f"{rows:,} of {total:,} rows {phase}" if total is not None else f"{rows:,} rows {phase}"
            await progress.report(rows, total, said)

        report = await import_frame(command, on_rows)
        return report.as_dict()

    async def dataset_export(job: Job, progress: Progress) -> dict[str, Any]:
        command = msgspec.convert(job.payload["command"], UploadDatasetFrames)
        saved = await upload_dataset_frames(command)
        return {
            "dataset_id": str(saved.dataset.dataset_id),
            "rows_written": {kind.value: rows for kind, rows in saved.written.items()},
        }

    async def run_persist(job: Job, progress: Progress) -> dict[str, Any]:
        command = msgspec.convert(job.payload["command"], SaveRun)
        command = msgspec.structs.replace(command, idempotency=once_per_job(job, "runs.save"))
        return (await save_run(command)).as_dict()

    async def simulation_persist(job: Job, progress: Progress) -> dict[str, Any]:
        command = msgspec.convert(job.payload["command"], SaveSimulation)
        command = msgspec.structs.replace(command, idempotency=once_per_job(job, "simulations.save"))
        return (await save_simulation(command)).as_dict()

    async def measurement_drop(job: Job, progress: Progress) -> dict[str, Any]:
        return await drop_measurements(msgspec.convert(job.payload["command"], DropMeasurements))

    async def noop(job: Job, progress: Progress) -> dict[str, Any]:
        return {}

    table: dict[str, JobHandler] = {
        JobType.QUESTDB_IMPORT: questdb_import,
        JobType.DATASET_EXPORT: dataset_export,
        JobType.RUN_PERSIST: run_persist,
        JobType.SIMULATION_PERSIST: simulation_persist,
        JobType.MEASUREMENT_DROP: measurement_drop,
        JobType.NOOP: noop,
    }
    return JobHandlers({name: owning_uploads(handler) for name, handler in table.items()})


def summaries() -> dict[str, Summary]:
    """What a completed job's message says, read from its result."""
    return {
        JobType.QUESTDB_IMPORT: lambda r: f"imported {r['rows_written']} rows into {r['measurement']}",
        JobType.DATASET_EXPORT: lambda r: (
            f"wrote {sum(r['rows_written'].values())} rows into dataset {r['dataset_id']}"
        ),
        JobType.RUN_PERSIST: lambda r: f"saved run, {r['questdb_rows_written']} rows written",
        JobType.SIMULATION_PERSIST: lambda r: f"saved simulation, {r['questdb_rows_written']} rows written",
        JobType.MEASUREMENT_DROP: lambda r: f"dropped {len(r['dropped'])} measurements of deleted records",
    }


def once_per_job(job: Job, scope: str) -> IdempotencyKey:
    """A job run twice (a retry after its worker died past the commit) answers the first save."""
    return IdempotencyKey(f"job:{job.job_id}", scope, "job")


class UploadProblem(Exception):
    """A failure whose own words named a spooled file, reworded: no server path reaches a job or an event."""


def owning_uploads(handler: JobHandler) -> JobHandler:
    """The job owns the request's spooled files: they go once it succeeds or is cancelled, after its end is
    stored (`release_finished_uploads`): an attempt whose worker was paused past its lease may finish late,
    and must not remove the files of the attempt that took the job over. A failed job keeps them, so
    `POST /api/jobs/{id}/retry` works; deleting or pruning the job lets them go."""

    async def run(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        paths = uploads_of(job)
        try:
            return await handler(job, progress)
        except JobCancelled:
            raise
        except FileNotFoundError as exc:
            if paths:
                raise InvalidInput("this job's upload is no longer on the server; send it again") from exc
            raise
        except Exception as exc:
            text = scrubbed(str(exc), paths)
            if text == str(exc):
                raise
            if isinstance(exc, Stage1Error):  # keeps its meaning (a bad row is not retried)
                exc.message, exc.args = text, (text,)
                raise
            raise UploadProblem(text) from exc

    return run


def release_finished_uploads(job: Job) -> None:
    """The worker's `on_stored`: a job stored COMPLETED or CANCELLED by the attempt that held it needs its
    uploads no more."""
    if job.status in (JobStatus.COMPLETED, JobStatus.CANCELLED):
        release_uploads(job)


def scrubbed(text: str, paths: list[str]) -> str:
    """`text` without the spooled files' paths or their folder (a job's words reach every client)."""
    for path in paths:
        text = text.replace(path, "<upload>").replace(str(Path(path).parent), "<uploads>")
    return text


def release_uploads(job: Job) -> None:
    LocalSpooledFiles().discard(uploads_of(job))
