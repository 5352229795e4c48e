"""`/api/datasets`: the triplet registry, frame uploads and frame reads."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.openapi.spec import OpenAPIMediaType, Reference, Schema
from litestar.params import Parameter
from litestar.response import Stream

from application.commands import BackfillDataset, PreviewDatasetFrames, UploadDatasetFrames, UpsertDataset
from application.dataset_queries import DatasetDetail, FrameRead, HierarchyNode
from application.datasets import DatasetSaved
from application.ports import DatasetFilter, DatasetListing, RunFilter
from application.preview import FramePreview
from application.series_ports import FrameUpload
from application.timeseries import RangeRows
from domain.datasets import Dataset, DatasetChanges
from domain.errors import InvalidInput
from domain.frames import FrameKind, WriteMode
from domain.jobs import Job, JobType
from domain.paging import Page, PageRequest
from domain.runs import WalkforwardRun
from domain.versions import DatasetVersion
from entrypoints.http import deletes
from entrypoints.http import parameters as p
from entrypoints.http import presenters as present
from entrypoints.http import schemas as s
from entrypoints.http.errors import STORE_ERRORS, WRITE_ERRORS, error_responses
from entrypoints.http.examples import DATASET_EXAMPLE, EXAMPLE_SLUG
from entrypoints.http.inputs import (
    columns_param,
    idempotency_key,
    is_multipart,
    require_json_or_multipart,
    sha256,
    time_param,
)
from entrypoints.http.jobs_submit import accepted, queue_command
from entrypoints.http.openapi_extras import MULTIPART, described, frame_part, json_of, multipart, ref, streamed
from entrypoints.http.runs import run_page
from entrypoints.http.streaming import attachment, choose_format, stream_rows
from entrypoints.http.strict_input import decode
from entrypoints.http.uploads import UploadSpool
from entrypoints.http.use_cases import UseCase
from entrypoints.settings import Settings

SampleByParameter = Annotated[
    str | None,
    Parameter(
        max_length=16,
        required=False,
        description="Downsample to buckets this wide: `15m`, `1h`, `1D` (`m` minute, `M` month); see docs/sampling.md.",
    ),
]
Aggregate = Annotated[
    Literal["first", "last", "min", "max", "mean"] | None,
    Parameter(
        required=False,
        description="With sample_by: what a column without a fixed aggregate becomes; default last.",
    ),
]
FRAME_PARTS = {"ohlcv": FrameKind.OHLCV, "indicators": FrameKind.INDICATORS}


def changes_of(body: s.DatasetIn) -> DatasetChanges:
    return msgspec.convert(body, DatasetChanges, from_attributes=True)


async def _frames_from_request(
    request: Request[Any, Any, Any], spool: UploadSpool, existing: bool = False
) -> tuple[s.DatasetIn | None, dict[FrameKind, FrameUpload], str]:
    """The dataset fields and frames of a JSON or multipart request, and the request's hash.

    For a dataset that exists (`existing`) the JSON form carries only its frames."""
    require_json_or_multipart(request)
    frames: dict[FrameKind, FrameUpload] = {}
    if is_multipart(request):
        parts = await spool.multipart(request, set(FRAME_PARTS))
        body = None
        if "metadata" in parts:
            body = decode(parts["metadata"].text(), s.DatasetIn, "metadata part")
        for name, kind in FRAME_PARTS.items():
            part = parts.get(name) or parts.get("indicator" if name == "indicators" else name)
            if part is not None and part.path is not None:
                frames[kind] = part.upload()
        return body, frames, spool.request_hash
    raw = await request.body()
    if existing:
        only_frames = decode(raw, s.DatasetFramesIn)
        for kind, text, field in (
            (FrameKind.OHLCV, only_frames.ohlcv_csv, "ohlcv_csv"),
            (FrameKind.INDICATORS, only_frames.indicator_csv, "indicator_csv"),
        ):
            if text:
                frames[kind] = spool.text_file(text, field).upload()
        await _url_frames(spool, only_frames, frames)
        return None, frames, sha256(raw)
    body = decode(raw, s.DatasetIn)
    if body.record_questdb:
        if body.ohlcv_csv:
            frames[FrameKind.OHLCV] = spool.text_file(body.ohlcv_csv, "ohlcv_csv").upload()
        if body.indicator_csv:
            frames[FrameKind.INDICATORS] = spool.text_file(body.indicator_csv, "indicator_csv").upload()
    await _url_frames(spool, body, frames)
    return body, frames, sha256(raw)


async def _url_frames(
    spool: UploadSpool, body: s.DatasetIn | s.DatasetFramesIn, frames: dict[FrameKind, FrameUpload]
) -> None:
    """`ohlcv_url` / `indicator_url`: the server fetches the frame itself (a URL means write it, as data)."""
    for kind, url, field in (
        (FrameKind.OHLCV, body.ohlcv_url, "ohlcv_url"),
        (FrameKind.INDICATORS, body.indicator_url, "indicator_url"),
    ):
        if url is None:
            continue
        if kind in frames:
            raise InvalidInput(f"send {field} or the frame itself, not both", {"field": field})
        frames[kind] = await spool.url_file(url, field)


FRAMES: dict[str, Schema | Reference] = {"ohlcv": frame_part("OHLCV bars"), "indicators": frame_part("Indicator rows")}
DATASET_OUT = {"200": json_of(ref("DatasetOut"))}
# A write route that takes dry_run=true answers either the saved dataset or the preview of its frames.
DATASET_OR_PREVIEW = {
    "200": json_of(Schema(one_of=[ref("DatasetOut"), ref("DatasetPreviewOut")]), None),
}


def _frames_route(status_code: int, body: dict[str, OpenAPIMediaType]) -> dict[str, Any]:
    """The route arguments of a write that may carry a dataset's frames: its status, the write errors, the
    forms of its body, the dataset (or, on a dry run, preview) it answers, and Idempotency-Key."""
    return {
        "status_code": status_code,
        "responses": error_responses(*WRITE_ERRORS),
        "opt": described(body=body, ok=DATASET_OR_PREVIEW, idempotent=True),
    }


@post(
    "/",
    summary="Create or update a dataset by slug, optionally with its frames",
    **_frames_route(
        201,
        {
            **json_of(ref("DatasetIn"), DATASET_EXAMPLE),
            MULTIPART: multipart({"metadata": ref("DatasetIn"), **FRAMES}, ["metadata"]),
        },
    ),
)
async def upsert_dataset(
    request: Request[Any, Any, Any],
    upsert_dataset: UseCase[DatasetSaved],
    settings: Settings,
    preview_dataset_frames: UseCase[dict[FrameKind, FramePreview]],
    mode: p.Mode = WriteMode.APPEND,
    dry_run: p.DryRun = False,
    granularity: p.GapGranularity = None,
) -> Response[s.DatasetOut | s.DatasetPreviewOut]:
    async with UploadSpool.fetching(request, settings) as spool:
        body, frames, digest = await _frames_from_request(request, spool)
        if body is None:
            raise InvalidInput(
                "a multipart dataset upload needs a `metadata` JSON part", {"missing_parts": ["metadata"]}
            )
        if dry_run:
            command = PreviewDatasetFrames(body.dataset_slug, frames, changes_of(body), granularity)
            return Response(_previews(await preview_dataset_frames(command)), status_code=200)
        saved = await upsert_dataset(
            UpsertDataset(
                body.dataset_slug,
                changes_of(body),
                frames,
                mode,
                idempotency_key(request, "datasets.upsert", digest),
            ),
        )
    return Response(present.dataset_out(saved.dataset), status_code=201 if saved.created else 200)


def _previews(previews: dict[FrameKind, FramePreview]) -> s.DatasetPreviewOut:
    return s.DatasetPreviewOut(
        **{kind.value: msgspec.convert(p, s.ImportPreviewOut, from_attributes=True) for kind, p in previews.items()}
    )


@get("/", summary="List datasets", dependencies=p.PAGE)
async def list_datasets(
    list_datasets: UseCase[Page[DatasetListing]],
    symbol: p.Symbol = None,
    granularity: p.Granularity = None,
    search: p.Search = None,
    *,
    page: PageRequest,
) -> s.DatasetPage:
    found = await list_datasets(DatasetFilter(symbol, granularity, search), page)
    return present.page_out(s.DatasetPage, found, present.dataset_item)


@post(
    "/backfill",
    status_code=201,
    summary="Register a dataset over measurements already in the store",
    responses=error_responses(404, 409, *STORE_ERRORS),
    opt=described(
        example={
            "dataset_slug": "btc_1h_again",
            "ohlcv_measurement": f"{EXAMPLE_SLUG}_ohlcv",
            "indicator_measurement": f"{EXAMPLE_SLUG}_ind",
        },
        ok=DATASET_OUT,
    ),
)
async def backfill(data: s.BackfillIn, backfill_dataset: UseCase[DatasetSaved]) -> Response[s.DatasetOut]:
    saved = await backfill_dataset(
        BackfillDataset(
            data.dataset_slug, data.symbol, data.granularity, data.ohlcv_measurement, data.indicator_measurement
        ),
    )
    return Response(present.dataset_out(saved.dataset), status_code=201 if saved.created else 200)


@get(
    "/{ref:str}",
    summary="A dataset with its related counts, store state and links",
    responses=error_responses(*STORE_ERRORS),
)
async def dataset_detail(dataset_detail: UseCase[DatasetDetail], ref: p.DatasetRef) -> s.DatasetDetailOut:
    return present.dataset_detail(await dataset_detail(ref), "")


@post(
    "/{ref:str}/export",
    summary="Upload OHLCV and/or indicator frames for a dataset",
    **_frames_route(200, {**json_of(ref("DatasetFramesIn"), DATASET_EXAMPLE), MULTIPART: multipart(FRAMES, [])}),
)
async def export_frames(
    request: Request[Any, Any, Any],
    upload_dataset_frames: UseCase[DatasetSaved],
    get_dataset: UseCase[Dataset],
    submit_job: UseCase[Job],
    settings: Settings,
    ref: p.DatasetRef,
    preview_dataset_frames: UseCase[dict[FrameKind, FramePreview]],
    mode: p.Mode = WriteMode.APPEND,
    run_async: p.RunAsync = False,
    dry_run: p.DryRun = False,
    granularity: p.GapGranularity = None,
) -> Response[Any]:
    async with UploadSpool.fetching(request, settings) as spool:
        _, frames, digest = await _frames_from_request(request, spool, existing=True)
        if dry_run:
            await get_dataset(ref)
            previewed = await preview_dataset_frames(PreviewDatasetFrames(ref, frames, granularity=granularity))
            return Response(_previews(previewed), status_code=200)
        key = idempotency_key(request, "datasets.export", digest)
        command = UploadDatasetFrames(dataset_ref=ref, frames=frames, mode=mode, idempotency=key)
        if run_async:
            await get_dataset(ref)
            job = await queue_command(
                submit_job,
                spool,
                JobType.DATASET_EXPORT,
                command,
                list(frames.values()),
                key,
                dataset_ref=ref,
                mode=mode.value,
                kinds=sorted(k.value for k in frames),
            )
            return accepted(job)
        saved = await upload_dataset_frames(command)
    return Response(present.dataset_out(saved.dataset), status_code=200)


def _frame_route(kind: FrameKind) -> Any:
    async def read_frame(
        request: Request[Any, Any, Any],
        read_dataset_frame: UseCase[RangeRows],
        ref: p.DatasetRef,
        from_: p.From = None,
        to: p.To = None,
        columns: p.Columns = None,
        limit: p.RowLimit = None,
        sample_by: SampleByParameter = None,
        format: p.Format = None,
        ts_unit: p.TsUnit = None,
        timeout: p.Timeout = 60.0,
        aggregate: Aggregate = None,
        download: p.Download = False,
    ) -> Stream:
        fmt = choose_format(format, request.headers.get("accept"))
        rows = await read_dataset_frame(
            ref,
            kind,
            FrameRead(
                time_param(from_, "from"),
                time_param(to, "to"),
                columns_param(columns),
                limit,
                sample_by,
                timeout,
                aggregate,
            ),
        )
        return await stream_rows(rows, fmt, ts_unit, attachment(download, str(rows.query.measurement)))

    return read_frame


read_ohlcv = get("/{ref:str}/ohlcv", summary="Stream a dataset's OHLCV bars", name="dataset_ohlcv", **streamed())(
    _frame_route(FrameKind.OHLCV)
)
read_indicators = get(
    "/{ref:str}/indicators", summary="Stream a dataset's indicator rows", name="dataset_indicators", **streamed()
)(_frame_route(FrameKind.INDICATORS))


@get("/{ref:str}/runs", summary="The runs of a dataset", dependencies=p.PAGE)
async def dataset_runs(
    runs_of_dataset: UseCase[Page[WalkforwardRun]], ref: p.DatasetRef, status: p.Status = None, *, page: PageRequest
) -> s.RunPage:
    return run_page(await runs_of_dataset(ref, RunFilter(status=status), page))


@get("/{ref:str}/hierarchy", summary="Dataset -> runs -> simulations")
async def dataset_hierarchy(
    dataset_hierarchy: UseCase[tuple[Dataset, list[HierarchyNode]]], ref: p.DatasetRef
) -> s.HierarchyOut:
    dataset, nodes = await dataset_hierarchy(ref)
    return present.hierarchy(dataset, nodes)


@get("/{ref:str}/versions", summary="A dataset's versions (fingerprints of its rows per change), newest first")
async def dataset_versions(
    dataset_versions: UseCase[Page[DatasetVersion]], ref: p.DatasetRef, limit: p.Limit = None, offset: p.Offset = None
) -> s.VersionPage:
    page = await dataset_versions(ref, PageRequest.of(limit, offset))
    return present.page_out(s.VersionPage, page, lambda version: present.wire(s.VersionOut, version))


router = Router(
    path="/api/datasets",
    route_handlers=[
        upsert_dataset,
        deletes.delete_dataset,
        list_datasets,
        backfill,
        dataset_detail,
        export_frames,
        read_ohlcv,
        read_indicators,
        dataset_runs,
        dataset_hierarchy,
        dataset_versions,
    ],
    tags=["datasets"],
)
