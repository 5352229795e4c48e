"""Walk-forward runs and their folds on the wire."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from entrypoints.http.schemas.common import (
    DatasetSlugOut,
    Int64,
    Json,
    LongText,
    Name,
    NotesOut,
    Paged,
    PredictionMeasurementOut,
    RecordIn,
    RecordSummaryOut,
    RowsWritten,
    RunIdOut,
    RunStatusName,
    ShortText,
    Struct,
    SummaryMetrics,
    doc,
)

FoldNumber = Annotated[int, Meta(ge=0, le=1_000_000), doc("The fold's number, unique within the run.")]
Bar = Annotated[Int64 | None, doc("A bar index into the dataset's OHLCV rows, 0-based.")]
BarTs = Annotated[Int64 | None, doc("The bar's time, epoch seconds; filled from the bars when left out.")]
Thresholds = Annotated[dict[str, float], doc("Decision thresholds by name, e.g. `{\"long\": 0.6}`.")]
FoldMetrics = Annotated[Json, doc("The fold's metrics by name.")]
TargetColumn = Annotated[str | None, doc("The column the model predicts.")]
FoldCount = Annotated[int, doc("Folds in the run.")]
WalkConfig = Annotated[Json, doc("How the walk-forward was set up (window sizes, step...).")]
Hyperparameters = Annotated[Json, doc("The model's hyperparameters, searchable as `params.<key>`.")]
ClipboardText = Annotated[str | None, doc("The desktop's text summary of the run.")]
Predictions = Annotated[list[Json] | None, doc("Prediction rows as JSON objects, each with a `timestamp`.")]
PredictionsCsv = Annotated[str | None, doc("Prediction rows as CSV text with a header row.")]


class FoldIn(Struct, forbid_unknown_fields=False):
    """One walk-forward fold: its train and test windows and what it scored."""

    fold_number: FoldNumber
    train_start: Annotated[Bar, doc("First training bar index.")] = None
    train_end: Annotated[Bar, doc("Last training bar index.")] = None
    test_start: Annotated[Bar, doc("First test bar index.")] = None
    test_end: Annotated[Bar, doc("Last test bar index.")] = None
    train_start_ts: Annotated[BarTs, doc("First training bar, epoch seconds.")] = None
    train_end_ts: Annotated[BarTs, doc("Last training bar, epoch seconds.")] = None
    test_start_ts: Annotated[BarTs, doc("First test bar, epoch seconds.")] = None
    test_end_ts: Annotated[BarTs, doc("Last test bar, epoch seconds.")] = None
    thresholds: Thresholds = {}
    metrics: FoldMetrics = {}


class RunIn(RecordIn, forbid_unknown_fields=False):
    """A walk-forward run with its folds and, optionally, its predictions."""

    dataset_id: Annotated[str, Meta(max_length=200), doc("The dataset's id (UUID) or slug.")] | None = None
    dataset_slug: Annotated[str, Meta(max_length=200), doc("The dataset's slug, if no `dataset_id`.")] | None = None
    run_id: Annotated[str | None, doc("An id (UUID) to use; default a new one.")] = None
    prediction_measurement: Annotated[Name | None, doc("Where predictions go; default `<slug>_wf_<time>`.")] = None
    status: Annotated[RunStatusName, doc("The run's status; default COMPLETED.")] = "COMPLETED"
    target_column: Annotated[ShortText | None, doc("The column the model predicts.")] = None
    feature_columns: Annotated[list[ShortText], doc("The columns the model reads.")] = []
    walk_config: WalkConfig = {}
    hyperparameters: Hyperparameters = {}
    folds: Annotated[list[FoldIn], Meta(max_length=100_000), doc("The run's folds.")] = []
    fold_count: Annotated[int, Meta(ge=0, le=1_000_000), doc("Folds the client declares in all.")] | None = None
    clipboard_text: Annotated[LongText | None, doc("The desktop's text summary of the run.")] = None
    predictions: Predictions = None
    predictions_csv: PredictionsCsv = None


class PredictionsIn(Struct, forbid_unknown_fields=False):
    """Rows appended to a run: the same inline forms as on create."""

    predictions: Predictions = None
    predictions_csv: PredictionsCsv = None


class FoldOut(Struct):
    fold_number: Annotated[int, doc("The fold's number, unique within the run.")]
    train_start: Annotated[int | None, doc("First training bar index.")]
    train_end: Annotated[int | None, doc("Last training bar index.")]
    test_start: Annotated[int | None, doc("First test bar index.")]
    test_end: Annotated[int | None, doc("Last test bar index.")]
    train_start_ts: Annotated[int | None, doc("First training bar, epoch seconds.")]
    train_end_ts: Annotated[int | None, doc("Last training bar, epoch seconds.")]
    test_start_ts: Annotated[int | None, doc("First test bar, epoch seconds.")]
    test_end_ts: Annotated[int | None, doc("Last test bar, epoch seconds.")]
    thresholds: Thresholds
    metrics: FoldMetrics


class RunSummaryOut(RecordSummaryOut):
    run_id: RunIdOut
    dataset_slug: DatasetSlugOut
    prediction_measurement: PredictionMeasurementOut
    target_column: TargetColumn
    fold_count: FoldCount


class RunLinks(Struct):
    predictions: Annotated[str, doc("Path of the run's prediction stream.")]


class PredictionAtBar(Struct):
    """A prediction outside its fold's test window."""

    bar_index: Annotated[int, doc("The prediction's bar (0-based row of the dataset's bars).")]
    fold_number: Annotated[int, doc("The fold it names.")]


class RunChecksOut(Struct):
    """What the walk-forward checks found in the run's predictions."""

    predictions_outside_test_window: Annotated[int, doc("Predictions whose bar lies outside their fold's test window.")]
    examples: Annotated[list[PredictionAtBar], doc("The first 10 of them.")]


class RunOut(RunSummaryOut):
    feature_columns: Annotated[list[str], doc("The columns the model reads.")]
    walk_config: WalkConfig
    hyperparameters: Hyperparameters
    summary_metrics: SummaryMetrics
    clipboard_text: ClipboardText
    notes: NotesOut
    folds: Annotated[list[FoldOut], doc("The run's folds by number.")]
    links: Annotated[RunLinks, doc("Where to read the run's rows.")]
    checks: Annotated[
        RunChecksOut | None,
        doc("What the walk-forward checks found in the predictions; null for a run saved before they existed."),
    ]


class RunPage(Paged):
    runs: Annotated[list[RunSummaryOut], doc("This page's runs, newest first.")]


class RunSavedOut(Struct):
    run_id: RunIdOut
    prediction_measurement: PredictionMeasurementOut
    questdb_rows_written: RowsWritten
    checks: Annotated[
        RunChecksOut | None, doc("The run's walk-forward checks with these rows in (null for a run saved before them).")
    ] = None
