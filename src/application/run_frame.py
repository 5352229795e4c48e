"""A run beside its data: the dataset's bars over the run's span, with the indicator and prediction
series that a stream join puts on each bar (`GET /api/runs/{id}/frame`)."""

from __future__ import annotations

from dataclasses import dataclass

from application.ports import UnitOfWorkFactory
from application.run_checks import bar_times
from application.runs import find_run
from application.series_ports import MeasurementInfo, RangeQuery, SeriesCatalog, SeriesReader
from application.timeseries import RangeRows
from domain.errors import InvalidInput, NotFound
from domain.frames import prediction_column_order
from domain.runs import WalkforwardRun
from domain.values import MeasurementName

# The prediction columns of a run that has none stored yet (then all null), with their store types.
PREDICTION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("bar_index", "LONG"),
    ("fold_number", "LONG"),
    ("prediction", "DOUBLE"),
    ("target", "DOUBLE"),
)


@dataclass(frozen=True, slots=True)
class FrameWindow:
    from_ns: int | None = None
    to_ns: int | None = None
    indicators: list[str] | None = None  # None: every indicator column
    timeout: float = 60.0


@dataclass(frozen=True, slots=True)
class SideSeries:
    """A series to put beside the bars: its rows over the span (None when nothing is stored) and the columns
    taken from it, with their store types."""

    rows: RangeRows | None
    columns: list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class RunFrame:
    run_id: str
    bars: RangeRows
    indicators: SideSeries
    predictions: SideSeries


async def read_run_frame(
    run_ref: str, window: FrameWindow, *, uow: UnitOfWorkFactory, catalog: SeriesCatalog, reader: SeriesReader
) -> RunFrame:
    """One row per bar inside the run's span (from its first train start to its last test end, else its
    first to last prediction), narrowed by `from`/`to`."""
    async with uow() as tx:
        run = await find_run(tx, run_ref)
        dataset = await tx.datasets.get(run.dataset_id)
    bars = None if dataset is None else await catalog.describe(dataset.ohlcv_measurement)
    if dataset is None or bars is None:
        raise NotFound(f"the dataset of run {run.run_id} holds no bars", {"run_id": str(run.run_id)})
    predictions = await catalog.describe(run.prediction_measurement)
    low, high = await _span(run, dataset.ohlcv_measurement, predictions, reader)
    low = _later(low, window.from_ns)
    high = _earlier(high, window.to_ns)

    def rows(measurement: MeasurementName, columns: list[str]) -> RangeRows:
        query = RangeQuery(measurement=measurement, from_ns=low, to_ns=high, columns=columns, timeout=window.timeout)
        return RangeRows(query, reader)

    bar_columns = ["timestamp", *(c.name for c in bars.columns if c.name != "timestamp")]
    indicators = await _indicators(catalog, dataset.indicator_measurement, window.indicators)
    indicator_rows = None if indicators is None else rows(dataset.indicator_measurement, _names(indicators))
    if predictions is None:
        prediction_side = SideSeries(None, list(PREDICTION_COLUMNS))
    else:
        types = {c.name: c.type for c in predictions.columns}
        ordered = [name for name in prediction_column_order(types) if name != "timestamp"]
        prediction_side = SideSeries(
            rows(run.prediction_measurement, ["timestamp", *ordered]), [(name, types[name]) for name in ordered]
        )
    return RunFrame(
        run_id=str(run.run_id),
        bars=rows(dataset.ohlcv_measurement, bar_columns),
        indicators=SideSeries(indicator_rows, indicators or []),
        predictions=prediction_side,
    )


async def _indicators(
    catalog: SeriesCatalog, measurement: MeasurementName, wanted: list[str] | None
) -> list[tuple[str, str]] | None:
    info = await catalog.describe(measurement)
    stored = {} if info is None else {c.name: c.type for c in info.columns if c.name != "timestamp"}
    if wanted is None:
        return list(stored.items()) if info is not None else None
    unknown = [name for name in wanted if name not in stored]
    if unknown:
        raise InvalidInput(
            f"unknown indicator column: {', '.join(unknown[:20])}",
            {"field": "indicators", "unknown": unknown[:100], "available": sorted(stored)[:1000]},
        )
    return [(name, stored[name]) for name in wanted]


async def _span(
    run: WalkforwardRun, bars: MeasurementName, predictions: MeasurementInfo | None, reader: SeriesReader
) -> tuple[int | None, int | None]:
    """The run's span in epoch nanoseconds: fold bounds (their `*_ts`, else their bar's time), else the first
    and last prediction, else open."""
    starts = [(f.train_start, f.train_start_ts) for f in run.folds]
    ends = [(f.test_end, f.test_end_ts) for f in run.folds]
    starts, ends = [p for p in starts if p != (None, None)], [p for p in ends if p != (None, None)]
    if not starts and not ends:
        return (None, None) if predictions is None else (predictions.first_ns, predictions.last_ns)
    unknown = {index for index, ts in starts + ends if ts is None and index is not None and index >= 0}
    times = await bar_times(reader, bars, unknown) if unknown else {}

    def seconds(index: int | None, ts: int | None) -> int | None:
        return ts if ts is not None else (None if index is None else times.get(index))

    first = [s for s in (seconds(*pair) for pair in starts) if s is not None]
    last = [s for s in (seconds(*pair) for pair in ends) if s is not None]
    return (min(first) * 10**9 if first else None), (max(last) * 10**9 if last else None)


def _names(columns: list[tuple[str, str]]) -> list[str]:
    return ["timestamp", *(name for name, _ in columns)]


def _later(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


def _earlier(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)
