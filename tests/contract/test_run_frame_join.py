"""The run frame's join on every store: bars, indicators and predictions read back from the store meet on the
exact timestamp, whatever time type the store hands back; a bar without a row gets nulls."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pyarrow as pa
import pytest
from tests.contract.timeseries_fixtures import HOUR_NS, START_NS, Harness, ohlcv, stream

from adapters.frames.timestamp_join import Beside, join_on_timestamp
from application.series_ports import RangeQuery, WriteOptions
from domain.frames import FrameKind

pytestmark = pytest.mark.anyio
BARS = 40


def at(bar: int, minutes: int = 0) -> int:
    return START_NS + bar * HOUR_NS + minutes * 60 * 10**9


async def test_bars_meet_indicators_and_predictions_on_the_exact_timestamp_only(harness: Harness) -> None:
    store = harness.store
    bars, indicators, predictions = (harness.name(stem) for stem in ("bars", "ind", "wf"))
    await store.write(bars, stream(ohlcv(BARS, step_ns=HOUR_NS), 7), WriteOptions(kind=FrameKind.OHLCV))
    indicator_bars = [b for b in range(BARS) if b % 3]  # every third bar has a hole
    indicator_frame = pa.table(
        {
            "timestamp": pa.array([at(b) for b in indicator_bars] + [at(12, 30)], pa.timestamp("ns")),
            "sma": [float(b) for b in indicator_bars] + [999.0],  # the last row lies between two bars
        }
    )
    await store.write(indicators, stream(indicator_frame, 5), WriteOptions(kind=FrameKind.INDICATORS))
    predicted = [b for b in range(10, 21) if b != 15]
    prediction_frame = pa.table(
        {
            "timestamp": pa.array([at(b) for b in predicted], pa.timestamp("ns")),
            "bar_index": pa.array(predicted, pa.int64()),
            "fold_number": pa.array([1] * len(predicted), pa.int64()),
            "prediction": [b / 100 for b in predicted],
            "target": [1.0] * len(predicted),
        }
    )
    await store.write(predictions, stream(prediction_frame, 4), WriteOptions(kind=FrameKind.PREDICTIONS))

    def read(name: str, columns: list[str]) -> AsyncIterator[pa.RecordBatch]:
        return store.read(RangeQuery(measurement=name, from_ns=at(5), to_ns=at(25), columns=columns))

    joined = join_on_timestamp(
        read(bars, ["timestamp", "open", "close"]),
        [
            Beside(read(indicators, ["timestamp", "sma"]), [("sma", "DOUBLE")], "indicator_"),
            Beside(
                read(predictions, ["timestamp", "bar_index", "fold_number", "prediction"]),
                [("bar_index", "LONG"), ("fold_number", "LONG"), ("prediction", "DOUBLE")],
                "prediction_",
            ),
        ],
    )
    table = pa.Table.from_batches([batch async for batch in joined])
    assert table.column_names == ["timestamp", "open", "close", "sma", "bar_index", "fold_number", "prediction"]
    assert table.column("open").to_pylist() == [100.0 + b for b in range(5, 26)]
    assert table.column("sma").to_pylist() == [float(b) if b % 3 else None for b in range(5, 26)]
    assert table.column("bar_index").to_pylist() == [b if b in predicted else None for b in range(5, 26)]
    assert table.column("prediction").to_pylist() == [b / 100 if b in predicted else None for b in range(5, 26)]
