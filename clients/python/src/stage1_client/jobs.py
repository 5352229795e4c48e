"""`client.imports`, `client.jobs`: upload files or frames into the time-series store, follow jobs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stage1_client import _multipart as multipart
from stage1_client._core import Call, Namespace, Op, Sleep, compact, decode, operation, page, ref
from stage1_client.errors import JobFailed
from stage1_client.frames import ARROW_STREAM, ipc_buffers, to_table
from stage1_client.models import ImportResult, Job, Page

CHUNK = 1024 * 1024
CONTENT_TYPES = {
    ".parquet": "application/vnd.apache.parquet",
    ".gz": "application/gzip",
    ".arrow": "application/vnd.apache.arrow.file",
    ".feather": "application/vnd.apache.arrow.file",
    ".arrows": ARROW_STREAM,
}


def job_id(value: Any) -> str:
    return ref(value, "job_id")


class Bar:
    """A progress bar (tqdm.auto: a terminal bar, or a widget in Jupyter); silent without tqdm."""

    def __init__(self, enabled: bool, total: int | None, desc: str, unit: str, scale: bool = False) -> None:
        self._bar: Any = None
        if enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError:  # the `progress` extra is optional
                return
            self._bar = tqdm(total=total, desc=desc, unit=unit, unit_scale=scale, unit_divisor=1024 if scale else 1000)

    def update(self, completed: int | None = None, total: int | None = None, desc: str | None = None) -> None:
        if self._bar is None:
            return
        if total is not None and total != self._bar.total:
            self._bar.total = total
        if desc is not None:
            self._bar.set_description(desc, refresh=False)
        if completed is not None:
            self._bar.n = completed
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def file_chunks(path: Path, bar: Bar) -> Iterator[bytes]:
    sent = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            sent += len(chunk)
            bar.update(sent)
            yield chunk


def upload_call(route: str, source: Any, params: dict[str, Any], bar: Bar) -> Call:
    """A path is streamed from disk (read again on a retry); a frame is sent as an Arrow IPC stream."""
    if isinstance(source, str | Path):
        path = Path(source)
        content_type = CONTENT_TYPES.get(path.suffix.lower(), "text/csv")
        return Call(
            "POST",
            route,
            params=params,
            content=lambda: file_chunks(path, bar),
            headers={"Content-Type": content_type},
        )
    body = [memoryview(buffer) for buffer in ipc_buffers(to_table(source))]
    length = multipart.size(body)
    bar.update(length)
    return Call(
        "POST",
        route,
        params=params,
        content=lambda: multipart.slices(body),
        headers={"Content-Type": ARROW_STREAM, "Content-Length": str(length)},
    )


def follow(id_: str, timeout: float | None, poll: float, bar: Bar) -> Op[Job]:
    """Poll a job until it finishes; FAILED or CANCELLED raise JobFailed carrying the job."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        job = decode((yield Call("GET", f"/api/jobs/{id_}")), Job)
        bar.update(job.progress or 0, job.total, (job.status or "").lower())
        if job.status == "COMPLETED":
            return job
        if job.status in ("FAILED", "CANCELLED"):
            raise JobFailed(f"job {id_} {job.status}: {job.error or job.message or ''}".strip(), job.to_dict())
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"job {id_} still {job.status} after {timeout} s")
        yield Sleep(poll)


class Imports(Namespace):
    @operation
    def upload(
        self,
        source: Any,
        measurement: str,
        *,
        kind: str = "generic",
        mode: str | None = None,
        job: bool = True,
        wait: bool = True,
        progress: bool = True,
        on_error: str | None = None,
        dry_run: bool | None = None,
    ) -> Op[ImportResult | Job | dict[str, Any]]:
        """Import a file (CSV, CSV.gz, Parquet, Arrow) or a frame into `measurement`. With `job=True` the server
        queues it and, with `wait=True`, the client follows the job (a progress bar of rows) and answers the
        import result; `job=False` imports while the request waits."""
        params = compact(measurement=measurement, kind=kind, mode=mode, on_error=on_error, dry_run=dry_run)
        route = "/api/questdb/import/async" if job and not dry_run else "/api/questdb/import"
        size = Path(source).stat().st_size if isinstance(source, str | Path) else None
        sending = Bar(progress, size, f"upload {measurement}", "B", scale=True)
        try:
            reply = yield upload_call(route, source, params, sending)
        finally:
            sending.close()
        answer = reply.json() or {}
        if "job_id" not in answer:
            return decode(reply, ImportResult) if "rows_written" in answer else dict(answer)
        if not wait:
            return decode((yield Call("GET", f"/api/jobs/{answer['job_id']}")), Job)
        rows = Bar(progress, None, "queued", "rows")
        try:
            finished = yield from follow(answer["job_id"], None, 0.25, rows)
        finally:
            rows.close()
        result = finished.result if isinstance(finished.result, dict) else {}
        return ImportResult(
            measurement=result.get("measurement", measurement),
            rows_written=int(result.get("rows_written") or 0),
            first_ts=result.get("first_ts"),
            last_ts=result.get("last_ts"),
            duration_ms=result.get("duration_ms"),
            rejected_rows=result.get("rejected_rows"),
            rejected=result.get("rejected"),
        )


class Jobs(Namespace):
    @operation
    def get(self, job: Any) -> Op[Job]:
        return decode((yield Call("GET", f"/api/jobs/{job_id(job)}")), Job)

    @operation
    def list(
        self,
        *,
        status: str | None = None,
        type: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        after: str | None = None,
    ) -> Op[Page[Job]]:
        params = compact(status=status, type=type, limit=limit, offset=offset, after=after)
        return page((yield Call("GET", "/api/jobs", params=params)), "jobs", Job)

    @operation
    def wait(self, job: Any, *, timeout: float | None = None, poll: float = 0.25, progress: bool = False) -> Op[Job]:
        """Block until the job is COMPLETED (answers it) or FAILED/CANCELLED (raises JobFailed)."""
        bar = Bar(progress, None, "queued", "rows")
        try:
            return (yield from follow(job_id(job), timeout, poll, bar))
        finally:
            bar.close()

    @operation
    def cancel(self, job: Any) -> Op[Job]:
        return decode((yield Call("POST", f"/api/jobs/{job_id(job)}/cancel")), Job)

    @operation
    def retry(self, job: Any) -> Op[Job]:
        return decode((yield Call("POST", f"/api/jobs/{job_id(job)}/retry")), Job)

    @operation
    def delete(self, job: Any) -> Op[dict[str, Any]]:
        return dict((yield Call("DELETE", f"/api/jobs/{job_id(job)}")).json() or {})
