"""Walk-forward checks as a run's rows pass by: predictions counted against their folds on their way to the
store, and empty fold times looked up in the dataset's bars."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from application.series_ports import RangeQuery, SeriesCatalog, SeriesReader
from domain.fold_checks import PredictionCheck, bars_without_times, fill_times
from domain.runs import Fold
from domain.values import MeasurementName


async def checked_predictions(
    batches: AsyncIterator[pa.RecordBatch], check: PredictionCheck
) -> AsyncIterator[pa.RecordBatch]:
    """The batches unchanged, each seen by `check`; a prediction for an undeclared fold fails the stream at its
    end, so the write it feeds is abandoned whole (the stores write all or nothing) and the 400 names every
    such fold."""
    async for batch in batches:
        check.see(batch.column("bar_index").to_pylist(), batch.column("fold_number").to_pylist())
        yield batch
    check.refuse_undeclared()


async def recheck_predictions(
    folds: Sequence[Fold], predictions: MeasurementName, catalog: SeriesCatalog, reader: SeriesReader
) -> dict[str, Any]:
    """The `checks` of predictions already stored, against folds that changed since they were saved."""
    check = PredictionCheck(folds)
    if await catalog.describe(predictions) is not None:
        async for batch in reader.read(RangeQuery(measurement=predictions, columns=["bar_index", "fold_number"])):
            check.see(batch.column("bar_index").to_pylist(), batch.column("fold_number").to_pylist())
    return check.report()


async def fill_fold_times(folds: Sequence[Fold], bars: MeasurementName | None, reader: SeriesReader) -> None:
    """Fold `*_ts` left empty take the time of their bar in the dataset (when it has that bar)."""
    wanted = bars_without_times(folds)
    if not wanted or bars is None:
        return
    fill_times(folds, await bar_times(reader, bars, wanted))


async def bar_times(reader: SeriesReader, bars: MeasurementName, indexes: set[int]) -> dict[int, int]:
    """Epoch seconds of the bars at `indexes` (0-based, in time order), reading only as far as the last one."""
    found: dict[int, int] = {}
    offset = 0
    query = RangeQuery(measurement=bars, columns=["timestamp"], limit=max(indexes) + 1)
    async for batch in reader.read(query):
        times = batch.column("timestamp")
        for index in indexes:
            if offset <= index < offset + batch.num_rows:
                found[index] = _epoch_seconds(times[index - offset].as_py())
        offset += batch.num_rows
    return found


def _epoch_seconds(moment: datetime) -> int:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)  # stores keep UTC times naive
    return int(aware.timestamp() // 1)
