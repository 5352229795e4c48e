"""`/api/questdb`: imports into measurements, inspection, and read-only SQL — on whichever time-series
store is configured (the path keeps the name the desktop knows)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Final

import msgspec
import pyarrow as pa
from litestar import Request, Response, Router, get, post
from litestar.di import Provide
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Schema
from litestar.params import Parameter
from litestar.response import Stream

from adapters.frames.formats import MediaType
from application.commands import ImportFrame
from application.preview import FramePreview
from application.series_ports import FrameUpload, MeasurementInfo, QueryResult
from application.timeseries import ImportReport
from domain.errors import InvalidInput
from domain.frames import FrameKind, OnError, WriteMode
from domain.jobs import Job, JobType
from domain.values import output_unit
from entrypoints.http import deletes
from entrypoints.http import parameters as p
from entrypoints.http import presenters as present
from entrypoints.http import schemas as s
from entrypoints.http.arriving_import import arrives_raw, import_while_arriving
from entrypoints.http.errors import STORE_ERRORS, WRITE_ERRORS, error_responses
from entrypoints.http.examples import IMPORT_EXAMPLE, OHLCV_CSV
from entrypoints.http.inputs import idempotency_key, is_json, is_multipart, media_type, sha256
from entrypoints.http.jobs_submit import accepted, queue_command
from entrypoints.http.metrics import ROWS_IMPORTED
from entrypoints.http.openapi_extras import (
    MULTIPART,
    described,
    frame_part,
    frame_stream,
    json_of,
    multipart,
    ref,
    text,
)
from entrypoints.http.streaming import attachment, choose_format, stream_batches
from entrypoints.http.strict_input import decode
from entrypoints.http.uploads import UploadSpool
from entrypoints.http.use_cases import StreamingUseCase, UseCase
from entrypoints.settings import Settings

Measurement = Annotated[str | None, p.optional_text("The measurement to write; or the body's `measurement`.", 200)]
Mode = Annotated[
    WriteMode | None,
    Parameter(
        required=False,
        description="append (the default) adds rows, deduplicated on the keys; replace swaps the whole table.",
    ),
]
# A frame arrives as a multipart `file` part, a raw body in any format the service reads, or JSON text.
IMPORT_BODY: Final = {
    MULTIPART: multipart(
        {
            "file": frame_part("The frame"),
            "measurement": Schema(type=OpenAPIType.STRING, description="Used when `?measurement=` is absent."),
            "kind": Schema(type=OpenAPIType.STRING, enum=[kind.value for kind in FrameKind]),
            "mode": Schema(type=OpenAPIType.STRING, enum=[mode.value for mode in WriteMode]),
        },
        ["file"],
    ),
    MediaType.CSV: OpenAPIMediaType(
        schema=text("CSV with a header row; `?measurement=` names the target."), example=OHLCV_CSV
    ),
    MediaType.GZIP: OpenAPIMediaType(schema=text("Gzipped CSV.", binary=True)),
    MediaType.PARQUET: OpenAPIMediaType(schema=text("A Parquet file.", binary=True)),
    MediaType.ARROW_STREAM: OpenAPIMediaType(schema=text("An Arrow IPC stream.", binary=True)),
    MediaType.ARROW_FILE: OpenAPIMediaType(schema=text("An Arrow IPC file.", binary=True)),
    **json_of(ref("ImportJsonIn"), IMPORT_EXAMPLE),
}
SQL_ERRORS: Final = error_responses(403, *STORE_ERRORS)


@dataclass(frozen=True, slots=True)
class ImportTarget:
    """Where an import writes and how: `?measurement=`, `?kind=`, `?mode=` (each may come in the body instead)
    and `?on_error=`. A dependency of both import routes (`IMPORT_ROUTE`), so they are declared once."""

    measurement: str | None
    kind: FrameKind | None
    mode: WriteMode | None
    on_error: OnError


def import_target(
    measurement: Measurement = None, kind: p.Kind = None, mode: Mode = None, on_error: p.OnErrorMode = OnError.FAIL
) -> ImportTarget:
    return ImportTarget(measurement, kind, mode, on_error)


# What both import routes declare: the forms their body may take, Idempotency-Key, and the target parameters.
IMPORT_ROUTE: Final[dict[str, Any]] = {
    "opt": described(body=IMPORT_BODY, idempotent=True),
    "dependencies": {"target": Provide(import_target, sync_to_thread=False)},
}


async def _import_request(
    request: Request[Any, Any, Any], spool: UploadSpool, target: ImportTarget, granularity: str | None = None
) -> tuple[ImportFrame, FrameUpload]:
    """The three forms of an import: a multipart `file` part, a raw body, or JSON with `data`."""
    measurement, kind, mode = target.measurement, target.kind, target.mode
    if is_multipart(request):
        parts = await spool.multipart(request, {"file"})
        part = parts.get("file")
        if part is None or part.path is None:
            raise InvalidInput("a multipart import needs a `file` part", {"missing_parts": ["file"]})
        for name in ("measurement", "kind", "mode"):
            if name in parts and parts[name].data is not None:
                value = parts[name].text().strip()
                if name == "measurement":
                    measurement = measurement or value
                elif name == "kind":
                    kind = kind or _enum(FrameKind, value, "kind")
                else:
                    mode = mode or _enum(WriteMode, value, "mode")
        upload, digest = part.upload(), spool.request_hash
    elif is_json(request) and media_type(request) != "":
        raw = await request.body()
        body = decode(raw, s.ImportJsonIn)
        measurement = measurement or body.measurement
        kind = kind or (None if body.kind is None else FrameKind(body.kind))
        mode = mode or WriteMode(body.mode)
        if (body.data is None) == (body.url is None):
            raise InvalidInput("send data (CSV text) or url, one of them", {"field": "data"})
        if body.url is not None:
            upload, digest = await spool.url_file(body.url, "url"), sha256(raw)
        else:
            upload, digest = spool.text_file(body.data or "", "data").upload(), sha256(raw)
    else:
        upload, digest = (await spool.body(request, "body")).upload(), spool.request_hash
    if not measurement:
        raise InvalidInput("measurement is required", {"field": "measurement"})
    key = idempotency_key(request, "questdb.import", digest)
    command = ImportFrame(
        measurement, upload, kind, mode or WriteMode.APPEND, key, target.on_error, granularity
    )
    return command, upload


def _enum(kind: Any, value: str, field: str) -> Any:
    try:
        return kind(value)
    except ValueError as exc:
        raise InvalidInput(f"{field} must be one of {', '.join(m.value for m in kind)}", {"field": field}) from exc


@post(
    "/import",
    status_code=200,
    summary="Import a frame into a measurement and wait for it (or preview it)",
    responses=error_responses(*WRITE_ERRORS),
    **IMPORT_ROUTE,
)
async def import_frame(
    request: Request[Any, Any, Any],
    import_frame: UseCase[ImportReport],
    preview_import: UseCase[FramePreview],
    settings: Settings,
    target: ImportTarget,
    dry_run: p.DryRun = False,
    granularity: p.GapGranularity = None,
) -> s.ImportOut | s.ImportPreviewOut:
    async with UploadSpool.fetching(request, settings) as spool:
        if target.measurement and not dry_run and arrives_raw(request):
            report = await import_while_arriving(
                request, spool, import_frame, target.measurement, target.kind, target.mode, target.on_error, granularity
            )
        else:
            command, _ = await _import_request(request, spool, target, granularity)
            if dry_run:
                return msgspec.convert(await preview_import(command), s.ImportPreviewOut, from_attributes=True)
            report = await import_frame(command)
    ROWS_IMPORTED.labels(route="questdb.import").inc(report.rows_written)
    return msgspec.convert(report, s.ImportOut, from_attributes=True)


@post(
    "/import/async",
    status_code=202,
    summary="Queue an import as a job",
    responses=error_responses(409, 415),
    **IMPORT_ROUTE,
)
async def import_async(
    request: Request[Any, Any, Any],
    submit_job: UseCase[Job],
    check_import_target: UseCase[None],
    settings: Settings,
    target: ImportTarget,
) -> Response[s.JobAcceptedOut]:
    async with UploadSpool.fetching(request, settings) as spool:
        command, upload = await _import_request(request, spool, target)
        await check_import_target(command.measurement, command.kind)
        job = await queue_command(
            submit_job,
            spool,
            JobType.QUESTDB_IMPORT,
            command,
            [upload],
            command.idempotency,
            measurement=command.measurement,
            kind=None if command.kind is None else command.kind.value,
            mode=command.mode.value,
        )
    return accepted(job)


@get("/jobs/{job_id:str}", summary="An import job (same body as /api/jobs/{id})")
async def questdb_job(get_job: UseCase[Job], job_id: p.JobId) -> s.JobOut:
    return present.job_out(await get_job(job_id))


@get("/measurements", summary="Measurements in the time-series store", responses=error_responses(*STORE_ERRORS))
async def measurements(
    list_measurements: UseCase[list[MeasurementInfo]],
    prefix: Annotated[
        str | None, Parameter(max_length=127, required=False, description="Only names that start with this.")
    ] = None,
) -> s.MeasurementPage:
    infos = await list_measurements(prefix)
    return s.MeasurementPage(
        measurements=[present.measurement_out(info) for info in infos],
        total=len(infos),
        limit=len(infos),
        offset=0,
        next_cursor=None,
    )


@get(
    "/measurement/{name:str}",
    summary="One measurement: columns, dedup keys, partitions and a sample",
    responses=error_responses(*STORE_ERRORS),
)
async def measurement(
    describe_measurement: UseCase[tuple[MeasurementInfo, pa.Table]],
    name: p.MeasurementName,
    sample: Annotated[
        int, Parameter(ge=0, le=1000, required=False, description="How many of the latest rows to include.")
    ] = 5,
) -> s.MeasurementDetailOut:
    info, rows = await describe_measurement(name, sample)
    return present.measurement_detail(info, [{k: _json_value(v) for k, v in row.items()} for row in rows.to_pylist()])


@post(
    "/query",
    status_code=200,
    summary="A read-only statement answered as JSON rows",
    responses=SQL_ERRORS,
    opt=described(example={"sql": "SELECT 1 AS one", "limit": 10}),
)
async def query(data: s.QueryIn, run_query: UseCase[QueryResult]) -> s.QueryOut:
    result = await run_query(data.sql, data.limit, data.timeout)
    rows = [[_json_value(v) for v in row] for row in result.rows]
    return s.QueryOut(columns=[s.QueryColumn(name=n, type=t) for n, t in result.columns], rows=rows, count=len(rows))


@post(
    "/export",
    status_code=200,
    summary="Stream the result of a read-only statement",
    responses=SQL_ERRORS,
    opt=described(example={"sql": "SELECT 1 AS one", "format": "csv"}, ok={"200": frame_stream()}),
)
async def export(
    data: s.ExportIn, export_query: StreamingUseCase[pa.RecordBatch], download: p.Download = False
) -> Stream:
    fmt = choose_format(data.format, None, "csv")
    output_unit(data.ts_unit, fmt)  # a bad unit is a 400 before the statement runs
    return await stream_batches(export_query(data.sql, data.timeout), fmt, data.ts_unit, attachment(download, "export"))


def _json_value(value: Any) -> Any:
    """Values JSON can carry: times as ISO text, NaN and infinities as null."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bytes):
        return value.hex()
    return value


router = Router(
    path="/api/questdb",
    route_handlers=[
        import_frame,
        import_async,
        questdb_job,
        measurements,
        measurement,
        query,
        export,
        deletes.delete_measurement,
    ],
    tags=["questdb"],
)
