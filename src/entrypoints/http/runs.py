"""`/api/runs`: walk-forward runs, their folds and their prediction streams."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Final

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.openapi.spec import Schema
from litestar.params import Parameter
from litestar.response import Stream

from adapters.frames.timestamp_join import Beside, join_on_timestamp
from application.commands import AppendPredictions, SaveRun
from application.idempotency import IdempotencyKey
from application.ports import RunFilter
from application.run_frame import FrameWindow, RunFrame
from application.runs import PredictionsRead, RunSaved
from application.series_ports import FrameUpload
from application.timeseries import RangeRows
from domain.errors import InvalidInput
from domain.fold_checks import check_folds
from domain.frames import FrameKind
from domain.jobs import JobType
from domain.paging import Page, PageRequest
from domain.runs import RunDetails, WalkforwardRun
from domain.search.query import Found
from domain.search.records import RunRecord
from domain.values import MeasurementName, output_unit
from entrypoints.http import deletes, updates
from entrypoints.http import parameters as p
from entrypoints.http import presenters as present
from entrypoints.http import schemas as s
from entrypoints.http import search as finding
from entrypoints.http.errors import WRITE_ERRORS, error_responses
from entrypoints.http.examples import RUN_EXAMPLE
from entrypoints.http.inputs import columns_param, idempotency_key, sha256, time_param
from entrypoints.http.jobs_submit import RecordSave, RecordWithFrame
from entrypoints.http.openapi_extras import ROWS, described, json_of, ref, streamed
from entrypoints.http.record_lists import RECORD_LIST, RecordScope, parse_uuid
from entrypoints.http.streaming import STREAM_ANSWER, StreamAnswer, choose_format, stream_rows
from entrypoints.http.uploads import UploadSpool, frame_only
from entrypoints.http.use_cases import UseCase
from entrypoints.settings import Settings

DownloadPredictions = Annotated[
    bool, Parameter(required=False, description="true: answer the run's prediction rows instead of the run.")
]
FoldNumber = Annotated[
    int | None, Parameter(ge=0, le=1_000_000, required=False, description="Only the rows of this fold.")
]
Indicators = Annotated[
    str | None,
    Parameter(max_length=20_000, required=False, description="Indicator columns, comma-separated; absent: all."),
]


def run_command(body: s.RunIn, predictions: FrameUpload | None, key: IdempotencyKey | None) -> SaveRun:
    ref = body.dataset_id or body.dataset_slug
    if not ref:
        raise InvalidInput("dataset_id or dataset_slug is required", {"field": "dataset_id"})
    if body.prediction_measurement is not None:
        # Checked here too, so `?async=true` refuses it before queuing rather than in a failed job.
        MeasurementName(body.prediction_measurement, "prediction_measurement")
    details = msgspec.convert(body, RunDetails, from_attributes=True)
    details.declared_fold_count = body.fold_count  # the wire's `fold_count` is the count the client declares
    check_folds(details.folds, details.walk_config)  # here too, so `?async=true` refuses before queuing
    return SaveRun(
        dataset_ref=ref,
        details=details,
        prediction_measurement=body.prediction_measurement,
        run_id=parse_uuid(body.run_id, "run_id"),
        predictions=predictions,
        idempotency=key,
    )


RUN_WITH_PREDICTIONS: Final = RecordWithFrame(
    s.RunIn,
    "run",
    "predictions",
    FrameKind.PREDICTIONS,
    JobType.RUN_PERSIST,
    run_command,
    lambda command: {"dataset_ref": command.dataset_ref},
    s.RunSavedOut,
)
RUN_SAVED = {"201": json_of(ref("RunSavedOut"))}


@post(
    "/",
    summary="Save a run with its folds and, optionally, its predictions",
    **RUN_WITH_PREDICTIONS.route(RUN_EXAMPLE, "Prediction rows"),
)
async def save_run(save_run: UseCase[RunSaved], saving: RecordSave) -> Response[Any]:
    return await saving(RUN_WITH_PREDICTIONS, save_run)


def run_page(page: Page[WalkforwardRun]) -> s.RunPage:
    return present.page_out(s.RunPage, page, present.run_summary)


@get("/", summary="List runs", dependencies=RECORD_LIST)
async def list_runs(
    list_runs: UseCase[Page[WalkforwardRun]],
    search_runs: UseCase[Found[RunRecord]],
    within: RecordScope,
    measurement: p.PredictionMeasurement = None,
    search: p.Search = None,
    *,
    list_query: finding.SearchRequest,
) -> s.RunPage | finding.RunSearchPage:
    if list_query.asks_search:
        if search is not None:
            raise InvalidInput("search does not combine with filter: use LIKE in the filter", {"field": "search"})
        conditions = finding.legacy_conditions(**within.filters(), measurement=measurement)
        return await finding.find_runs(search_runs, replace(list_query, conditions=conditions))
    filters = RunFilter(within.dataset_id, within.dataset_slug, within.status, measurement, search)
    return run_page(await list_runs(filters, PageRequest.of(list_query.limit, list_query.offset, list_query.after)))


@get(
    "/{run_id:str}",
    summary="A run with its folds; or its predictions with download_predictions=true",
    **streamed(Schema(any_of=[ref("RunOut"), ROWS])),
)
async def get_run(
    get_run: UseCase[WalkforwardRun],
    read_predictions: UseCase[RangeRows],
    run_id: p.RunId,
    download_predictions: DownloadPredictions = False,
    format: p.Format = None,
    ts_unit: p.TsUnit = None,
    timeout: p.Timeout = 60.0,
) -> Any:
    # Checked on both answers, so a bad value is a 400 whether or not the download was asked for.
    fmt = choose_format(format, None, "csv")
    output_unit(ts_unit, fmt)
    if download_predictions:
        rows = await read_predictions(run_id, PredictionsRead(timeout=timeout))
        return await stream_rows(rows, fmt, ts_unit, filename=f"predictions_{run_id}")
    return present.run_out(await get_run(run_id), "")


@get("/{run_id:str}/predictions", summary="Stream a run's prediction rows", dependencies=STREAM_ANSWER, **streamed())
async def predictions(
    read_predictions: UseCase[RangeRows],
    run_id: p.RunId,
    fold_number: FoldNumber = None,
    from_: p.From = None,
    to: p.To = None,
    limit: p.RowLimit = None,
    *,
    answer: StreamAnswer,
) -> Stream:
    read = PredictionsRead(fold_number, time_param(from_, "from"), time_param(to, "to"), limit, answer.timeout)
    rows = await read_predictions(run_id, read)
    return await answer.rows(rows, f"predictions_{rows.query.measurement}")


@get(
    "/{run_id:str}/frame",
    summary="The run's bars, indicators and predictions, joined on the exact timestamp",
    dependencies=STREAM_ANSWER,
    **streamed(),
)
async def frame(
    read_run_frame: UseCase[RunFrame],
    run_id: p.RunId,
    from_: p.From = None,
    to: p.To = None,
    indicators: Indicators = None,
    *,
    answer: StreamAnswer,
) -> Stream:
    output_unit(answer.ts_unit, answer.fmt)
    window = FrameWindow(
        time_param(from_, "from"), time_param(to, "to"), columns_param(indicators, "indicators"), answer.timeout
    )
    found = await read_run_frame(run_id, window)
    besides = [
        Beside(None if side.rows is None else side.rows.batches(), side.columns, prefix)
        for side, prefix in ((found.indicators, "indicator_"), (found.predictions, "prediction_"))
    ]
    joined = join_on_timestamp(found.bars.batches(), besides)
    return await answer.batches(joined, f"run_{found.run_id}_frame")


@post(
    "/{run_id:str}/predictions",
    status_code=201,
    summary="Append prediction rows to a run that is not final",
    responses=error_responses(*WRITE_ERRORS, 404),
    opt=described(ok=RUN_SAVED, idempotent=True),
)
async def append_predictions(
    request: Request[Any, Any, Any], append_predictions: UseCase[RunSaved], settings: Settings, run_id: p.RunId
) -> s.RunSavedOut:
    async with UploadSpool.for_request(request, settings.uploads, settings.max_upload_bytes) as spool:
        upload, digest = await frame_only(request, spool, s.PredictionsIn, "predictions", FrameKind.PREDICTIONS)
        key = idempotency_key(request, "runs.append_predictions", sha256(f"{run_id}\n{digest}".encode()))
        appended = await append_predictions(AppendPredictions(run_id, upload, key))
    return s.RunSavedOut(**appended.as_dict())


router = Router(
    path="/api/runs",
    route_handlers=[
        save_run,
        list_runs,
        get_run,
        predictions,
        frame,
        append_predictions,
        updates.patch_run,
        updates.post_folds,
        deletes.delete_run,
    ],
    tags=["runs"],
)
