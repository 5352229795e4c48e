"""A waited-for import of a raw body, parsed and written while the body still arrives.

The body is spooled as for every import (a retry reads the same file), and the import reads the spool file as
it grows (adapters/frames/arriving.py): the check pass ends when the body ends, and checked rows are already
in the store's staging area by then; the write stays all or nothing. A failure of the body itself (too large,
empty, cut off) is the answer even when the import failed on it first. A body with an Idempotency-Key is
spooled whole first, as its replay check needs the hash of the whole body before anything else.
"""

from __future__ import annotations

from typing import Any

import anyio
from litestar import Request

from application.commands import ImportFrame
from application.timeseries import ImportReport
from domain.errors import InvalidInput
from domain.frames import FrameKind, OnError, WriteMode
from entrypoints.http.inputs import is_json, is_multipart, media_type
from entrypoints.http.uploads import UploadSpool
from entrypoints.http.use_cases import UseCase


def arrives_raw(request: Request[Any, Any, Any]) -> bool:
    """A raw body (neither multipart nor JSON) that carries no Idempotency-Key."""
    json_body = is_json(request) and media_type(request) != ""
    return not is_multipart(request) and not json_body and "idempotency-key" not in request.headers


async def import_while_arriving(
    request: Request[Any, Any, Any],
    spool: UploadSpool,
    import_frame: UseCase[ImportReport],
    measurement: str | None,
    kind: FrameKind | None,
    mode: WriteMode | None,
    on_error: OnError,
    granularity: str | None,
) -> ImportReport:
    if not measurement:
        raise InvalidInput("measurement is required", {"field": "measurement"})
    part, receive = spool.arriving_body(request, "body")
    command = ImportFrame(measurement, part.upload(), kind, mode or WriteMode.APPEND, None, on_error, granularity)
    failures: dict[str, Exception] = {}

    async def receiving() -> None:
        try:
            await receive()
        except Exception as exc:
            failures["body"] = exc

    report: ImportReport | None = None
    async with anyio.create_task_group() as group:
        group.start_soon(receiving)
        try:
            report = await import_frame(command)
        except Exception as exc:
            failures["import"] = exc
    # The body is read to its end on every path (the client is still sending it), then its own failure first.
    if failures:
        raise failures.get("body") or failures["import"]
    assert report is not None
    return report
