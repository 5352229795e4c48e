"""Generated frames for the time-series benchmark: an OHLCV CSV file and walk-forward predictions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

# 2020-01-01T00:00:00Z: minute bars from here run about 1.9 years per million rows.
START_S = 1_577_836_800
BAR_S = 60
WRITE_ROWS = 250_000
PLAIN = pa_csv.WriteOptions(quoting_style="none", quoting_header="none")


def ohlcv_table(rows: int, seed: int = 7) -> pa.Table:
    """Minute bars of a random walk; prices with two decimals, volumes with four, like exchange data."""
    rng = np.random.default_rng(seed)
    close = np.round(40_000 + np.cumsum(rng.normal(0, 15, rows)), 2)
    open_ = np.round(np.concatenate(([40_000.0], close[:-1])), 2)
    spread = np.abs(rng.normal(0, 10, rows))
    high = np.round(np.maximum(open_, close) + spread, 2)
    low = np.round(np.minimum(open_, close) - spread, 2)
    volume = np.round(rng.gamma(2.0, 50.0, rows), 4)
    stamps = START_S + BAR_S * np.arange(rows, dtype=np.int64)
    return pa.table(
        {"timestamp": stamps, "open": open_, "high": high, "low": low, "close": close, "volume": volume}
    )


def write_ohlcv_csv(path: Path, table: pa.Table) -> int:
    """The frame as CSV with epoch-second times; answers its size in bytes."""
    pa_csv.write_csv(table, path, PLAIN)
    return path.stat().st_size


def write_ohlcv_iso_csv(path: Path, table: pa.Table) -> int:
    """The same rows with ISO-8601 times (QuestDB's /imp cannot take epoch numbers as a timestamp)."""
    stamps = pc.cast(pc.multiply(table.column("timestamp"), 1_000_000), pa.timestamp("us"))
    iso = pc.strftime(stamps, format="%Y-%m-%dT%H:%M:%SZ")
    pa_csv.write_csv(table.set_column(0, "timestamp", iso), path, PLAIN)
    return path.stat().st_size


def prediction_batch(start_row: int, rows: int, fold_rows: int, seed: int) -> pa.RecordBatch:
    """Rows `start_row`.. of a walk-forward run: one bar a minute, folds of `fold_rows` bars."""
    rng = np.random.default_rng(seed + start_row)
    index = np.arange(start_row, start_row + rows, dtype=np.int64)
    stamps = (START_S + BAR_S * index) * 1_000_000_000
    return pa.RecordBatch.from_arrays(
        [
            pa.array(stamps, pa.timestamp("ns")),
            pa.array(index),
            pa.array(index // fold_rows + 1),
            pa.array(np.round(rng.random(rows), 6)),
            pa.array(rng.integers(0, 2, rows, dtype=np.int64)),
            pa.array(np.full(rows, 0.6)),
            pa.array(np.full(rows, 0.4)),
        ],
        names=["timestamp", "bar_index", "fold_number", "prediction", "target", "threshold_0", "threshold_1"],
    )


async def prediction_batches(rows: int, folds: int = 10, seed: int = 11) -> AsyncIterator[pa.RecordBatch]:
    fold_rows = max(1, -(-rows // folds))
    for start in range(0, rows, WRITE_ROWS):
        yield prediction_batch(start, min(WRITE_ROWS, rows - start), fold_rows, seed)
