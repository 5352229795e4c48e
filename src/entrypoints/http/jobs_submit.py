"""The `?async=true` path shared by imports, dataset frame uploads, run and simulation saves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

import msgspec
from litestar import Request, Response
from litestar.di import Provide

from application.commands import JobCommand
from application.idempotency import IdempotencyKey
from application.series_ports import FrameUpload
from domain.frames import FrameKind
from domain.jobs import Job, JobType
from entrypoints.http import parameters as p
from entrypoints.http import schemas as s
from entrypoints.http.access_log import current_request_id
from entrypoints.http.errors import WRITE_ERRORS, error_responses
from entrypoints.http.inputs import idempotency_key, sha256
from entrypoints.http.openapi_extras import described, json_of, ref
from entrypoints.http.openapi_extras import record_with_frame as record_with_frame_body
from entrypoints.http.uploads import UploadSpool, record_with_frame
from entrypoints.settings import Settings

Record = TypeVar("Record", bound=msgspec.Struct)
Command = TypeVar("Command", bound=JobCommand)


async def queue_command(
    submit_job: Callable[..., Awaitable[Job]],
    spool: UploadSpool,
    job_type: JobType,
    command: JobCommand,
    uploads: list[FrameUpload],
    key: IdempotencyKey | None,
    **visible: Any,
) -> Job:
    """Queue `command` for a worker; the job owns the request's spooled files from now on (it deletes them).

    The command travels as the job's payload; `visible` is what readers of the job see of it. With an
    Idempotency-Key the same request answers the job it queued the first time."""
    stored = msgspec.to_builtins(msgspec.structs.replace(command, idempotency=None))
    payload = {**visible, "command": stored, "uploads": [upload.path for upload in uploads]}
    if request_id := current_request_id():
        payload["request_id"] = request_id  # the worker's lines about this job carry the request that queued it
    # The client's key (up to 200 characters) goes in as a digest: the queue's key column holds 200.
    queue_key = None if key is None else f"{key.scope}:{sha256(key.key.encode())[:32]}:{key.request_hash[:16]}"
    job = await submit_job(job_type, payload, message=f"{job_type} queued", idempotency_key=queue_key)
    if job.payload.get("uploads") == payload["uploads"]:
        for upload in uploads:
            spool.keep(upload)
    return job


def accepted(job: Job) -> Response[s.JobAcceptedOut]:
    poll_url = f"/api/jobs/{job.job_id}"
    return Response(
        s.JobAcceptedOut(
            job_id=str(job.job_id),
            status=job.status.value,
            message=f"{job.type} job created. Poll {poll_url} for status.",
            poll_url=poll_url,
        ),
        status_code=202,
        headers={"Location": poll_url},
    )


@dataclass(frozen=True, slots=True)
class RecordWithFrame(Generic[Record, Command]):
    """A record saved with its optional frame (a run with predictions, a simulation with trades): how it
    arrives, the command it becomes, the job `?async=true` queues and the answer of a save that waits."""

    record: type[Record]
    head: str  # the record's multipart part, and the idempotency scope `<head>s.save`
    frame: str
    kind: FrameKind
    job_type: JobType
    command: Callable[[Record, FrameUpload | None, IdempotencyKey | None], Command]
    visible: Callable[[Command], dict[str, Any]]  # what readers of the queued job see of it
    out: type[msgspec.Struct]

    def route(self, example: Any, frame_doc: str) -> dict[str, Any]:
        """The route arguments of its save: 201, the write errors, the body as JSON or multipart (`frame_doc`
        says what the frame part holds), the answer, Idempotency-Key, and the `SAVE_RECORD` dependency."""
        body = record_with_frame_body(self.record.__name__, example, self.head, self.frame, frame_doc)
        return {
            "status_code": 201,
            "responses": error_responses(*WRITE_ERRORS),
            "opt": described(body=body, ok={"201": json_of(ref(self.out.__name__))}, idempotent=True),
            "dependencies": SAVE_RECORD,
        }

    async def save(
        self,
        request: Request[Any, Any, Any],
        settings: Settings,
        save: Callable[[Command], Awaitable[Any]],
        submit_job: Callable[..., Awaitable[Job]],
        run_async: bool,
    ) -> Response[Any]:
        async with UploadSpool.for_request(request, settings.uploads, settings.max_upload_bytes) as spool:
            body, frame, digest = await record_with_frame(request, spool, self.record, self.head, self.frame, self.kind)
            key = idempotency_key(request, f"{self.head}s.save", digest)
            command = self.command(body, frame, key)  # validates before anything is queued
            if run_async:
                frames = [frame] if frame else []
                visible = self.visible(command)
                return accepted(await queue_command(submit_job, spool, self.job_type, command, frames, key, **visible))
            saved = await save(command)
        return Response(self.out(**saved.as_dict()), status_code=201)


@dataclass(frozen=True, slots=True)
class RecordSave:
    """A POST of a record with its frame as its request asks for it: saved while the client waits, or queued
    with `?async=true`. A dependency (`SAVE_RECORD`), so a save handler names only its record and use case."""

    request: Request[Any, Any, Any]
    settings: Settings
    submit_job: Callable[..., Awaitable[Job]]
    run_async: bool

    async def __call__(self, record: RecordWithFrame[Any, Any], save: Callable[[Any], Awaitable[Any]]) -> Response[Any]:
        return await record.save(self.request, self.settings, save, self.submit_job, self.run_async)


def record_save(
    request: Request[Any, Any, Any],
    settings: Settings,
    submit_job: Callable[..., Awaitable[Job]],
    run_async: p.RunAsync = False,
) -> RecordSave:
    return RecordSave(request, settings, submit_job, run_async)


SAVE_RECORD: Final = {"saving": Provide(record_save, sync_to_thread=False)}
