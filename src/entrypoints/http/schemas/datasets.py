"""Datasets on the wire: the triplet, its listing, detail and hierarchy."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from entrypoints.http.schemas.common import (
    Count,
    CreatedAt,
    DatasetIdOut,
    DatasetSlugOut,
    IndicatorMeasurement,
    Int64,
    Json,
    Name,
    OhlcvMeasurement,
    Paged,
    PredictionMeasurementOut,
    RunIdOut,
    ShortText,
    SimulationIdOut,
    StatusOut,
    Struct,
    SummaryMetrics,
    TradesMeasurementOut,
    UpdatedAt,
    Url,
    doc,
)
from entrypoints.http.schemas.measurements import ImportPreviewOut, StoredMeasurement

Slug = Annotated[str, Meta(max_length=200), doc("The dataset's unique slug, `^[a-z][a-z0-9_]{0,63}$`.")]
Symbol = Annotated[str | None, doc("The traded instrument, e.g. `BTC`.")]
GranularityIn = Annotated[str, Meta(max_length=16), doc("Bar width: a count and a unit, e.g. `1h`, `15m`, `1d`.")]
Source = Annotated[str | None, doc("Where the bars came from, e.g. an exchange.")]
Metadata = Annotated[Json, doc("Free JSON the client keeps with the dataset.")]
OhlcvCsv = Annotated[str | None, doc("OHLCV bars as CSV text with a header row.")]
IndicatorCsv = Annotated[str | None, doc("Indicator rows as CSV text with a header row.")]
OhlcvUrl = Annotated[Url | None, doc("Instead of the bars: a URL the server fetches them from (listed hosts only).")]
IndicatorUrl = Annotated[Url | None, doc("Instead of the indicators: a URL the server fetches them from.")]


class DatasetIn(Struct, forbid_unknown_fields=False):
    """A dataset to create or update by slug, optionally with its frames inline."""

    dataset_slug: Slug
    symbol: Annotated[ShortText | None, doc("The traded instrument, e.g. `BTC`.")] = None
    granularity: GranularityIn | None = None
    source: Annotated[ShortText | None, doc("Where the bars came from, e.g. an exchange.")] = None
    ohlcv_measurement: Annotated[Name | None, doc("OHLCV measurement; default `<slug>_ohlcv`.")] = None
    indicator_measurement: Annotated[Name | None, doc("Indicator measurement; default `<slug>_ind`.")] = None
    ohlcv_rows: Annotated[Count | None, doc("OHLCV row count the client reports; the store's wins.")] = None
    indicator_rows: Annotated[Count | None, doc("Indicator row count the client reports; the store's wins.")] = None
    ohlcv_first_ts: Annotated[Int64 | None, doc("First OHLCV bar the client reports, epoch seconds.")] = None
    ohlcv_last_ts: Annotated[Int64 | None, doc("Last OHLCV bar the client reports, epoch seconds.")] = None
    indicator_first_ts: Annotated[Int64 | None, doc("First indicator row the client reports, epoch seconds.")] = None
    indicator_last_ts: Annotated[Int64 | None, doc("Last indicator row the client reports, epoch seconds.")] = None
    metadata: Annotated[Json | None, doc("Free JSON the client keeps with the dataset.")] = None
    record_questdb: Annotated[bool, doc("true: write `ohlcv_csv` and `indicator_csv` to the store.")] = False
    ohlcv_csv: OhlcvCsv = None
    indicator_csv: IndicatorCsv = None
    ohlcv_url: OhlcvUrl = None
    indicator_url: IndicatorUrl = None


class DatasetFramesIn(Struct, forbid_unknown_fields=False):
    """Frames for a dataset that exists (`POST /api/datasets/{id}/export`); the path names the dataset."""

    ohlcv_csv: OhlcvCsv = None
    indicator_csv: IndicatorCsv = None
    ohlcv_url: OhlcvUrl = None
    indicator_url: IndicatorUrl = None


class DatasetPreviewOut(Struct):
    """A dataset dry run: each frame sent, described as an import's dry run (gaps against the dataset's
    granularity); nothing was written and the record did not change."""

    ohlcv: Annotated[ImportPreviewOut | None, doc("The OHLCV frame's preview; null when none was sent.")] = None
    indicators: Annotated[
        ImportPreviewOut | None, doc("The indicator frame's preview; null when none was sent.")
    ] = None


class FrameHoldingsOut(Struct):
    """What a dataset's two measurements hold (a version: held after its change)."""

    ohlcv_rows: Annotated[int, doc("Rows in the OHLCV measurement.")]
    indicator_rows: Annotated[int, doc("Rows in the indicator measurement.")]
    ohlcv_first_ts: Annotated[int | None, doc("First OHLCV bar, epoch seconds.")]
    ohlcv_last_ts: Annotated[int | None, doc("Last OHLCV bar, epoch seconds.")]
    indicator_first_ts: Annotated[int | None, doc("First indicator row, epoch seconds.")]
    indicator_last_ts: Annotated[int | None, doc("Last indicator row, epoch seconds.")]


class DatasetOut(FrameHoldingsOut):
    """The dataset triplet: its names, its two measurements and what they hold."""

    dataset_id: DatasetIdOut
    dataset_slug: DatasetSlugOut
    symbol: Symbol
    granularity: Annotated[str | None, doc("Bar width, e.g. `1h`.")]
    source: Source
    ohlcv_measurement: OhlcvMeasurement
    indicator_measurement: IndicatorMeasurement
    metadata: Metadata
    created_at: CreatedAt
    updated_at: UpdatedAt
    version: Annotated[int, doc("The latest version of its rows (`GET .../versions`); 0 while it holds none.")]


class DatasetListItem(DatasetOut):
    related_runs: Annotated[int, doc("Runs saved against this dataset.")]
    related_simulations: Annotated[int, doc("Simulations of those runs.")]


class MeasurementState(StoredMeasurement):
    """What the time-series store holds for one of the dataset's measurements (nulls where it does not exist)."""

    exists: Annotated[bool, doc("Whether the measurement exists in the store.")]
    row_count: Annotated[int | None, doc("Rows in the store; null when it does not exist.")]
    in_sync: Annotated[bool, doc("Whether the store's row count equals the dataset's.")]


class DatasetLinks(Struct):
    ohlcv: Annotated[str, doc("Path of the OHLCV stream.")]
    indicators: Annotated[str, doc("Path of the indicator stream.")]
    runs: Annotated[str, doc("Path of the dataset's runs.")]
    hierarchy: Annotated[str, doc("Path of the dataset -> runs -> simulations tree.")]


class DatasetDetailOut(DatasetListItem):
    questdb_state: Annotated[dict[str, MeasurementState], doc("Store state by frame: `ohlcv` and `indicator`.")]
    links: Annotated[DatasetLinks, doc("Where to read the dataset's frames and children.")]


class DatasetPage(Paged):
    datasets: Annotated[list[DatasetListItem], doc("This page's datasets, newest first.")]


class BackfillIn(Struct):
    """A dataset over two measurements already in the store; counts and bounds are read from them."""

    dataset_slug: Slug
    ohlcv_measurement: Annotated[Name, doc("The existing measurement holding the OHLCV bars.")]
    indicator_measurement: Annotated[Name, doc("The existing measurement holding the indicator rows.")]
    symbol: Annotated[ShortText | None, doc("The traded instrument, e.g. `BTC`.")] = None
    granularity: GranularityIn | None = None


class HierarchySimulation(Struct):
    simulation_id: SimulationIdOut
    trades_measurement: TradesMeasurementOut
    status: StatusOut
    trade_count: Annotated[int, doc("Trades in the simulation.")]
    summary_metrics: SummaryMetrics


class HierarchyRun(Struct):
    run_id: RunIdOut
    prediction_measurement: PredictionMeasurementOut
    status: StatusOut
    fold_count: Annotated[int, doc("Folds in the run.")]
    summary_metrics: SummaryMetrics
    simulations: Annotated[list[HierarchySimulation], doc("The run's simulations.")]


class HierarchyOut(Struct):
    dataset_id: DatasetIdOut
    dataset_slug: DatasetSlugOut
    ohlcv_measurement: OhlcvMeasurement
    indicator_measurement: IndicatorMeasurement
    runs: Annotated[list[HierarchyRun], doc("The dataset's runs, each with its simulations.")]


class VersionOut(FrameHoldingsOut):
    """One change of a dataset's rows: a fingerprint of what it held after, not a snapshot."""

    version: Annotated[int, doc("1, 2, 3, ... in the order of the changes.")]
    created_at: CreatedAt
    ohlcv_checksum: Annotated[str | None, doc("Hex digest of the OHLCV rows as a set keyed by timestamp.")]
    indicator_checksum: Annotated[str | None, doc("Hex digest of the indicator rows as a set keyed by timestamp.")]
    changed_from_ts: Annotated[
        int | None, doc("The earliest bar (epoch s) the change added, removed or altered; null: unknown.")
    ]


class VersionPage(Paged):
    """A page of a dataset's versions, newest first."""

    versions: Annotated[list[VersionOut], doc("The versions on this page.")]
