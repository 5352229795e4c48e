"""DuckDB range reads skip their sort for a table stored in time order, and never answer rows out of order."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from tests.contract.timeseries_fixtures import MINUTE_NS, START_NS, ohlcv, read_all, stream

from adapters.duckdb import DuckDBTimeSeriesStore
from application.series_ports import RangeQuery, WriteOptions
from domain.errors import StoreUnavailable
from domain.frames import FrameKind
from domain.values import MeasurementName

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_rows_found_out_of_order_in_a_table_marked_in_order_are_refused_once_then_read_sorted(
    tmp_path: Path,
) -> None:
    path, name = tmp_path / "series.duckdb", MeasurementName("bars_order")
    store = DuckDBTimeSeriesStore(path)
    await store.write(name, stream(ohlcv(5, start_ns=START_NS + 10 * MINUTE_NS)), WriteOptions(kind=FrameKind.OHLCV))
    await store.close()
    # A row stored behind the store's back, before the others: the mark no longer tells the truth.
    with duckdb.connect(str(path)) as raw:
        raw.execute(f"INSERT INTO {name} VALUES (TIMESTAMP '2024-01-01 00:00:00', 1, 1, 1, 1, 1)")

    store = DuckDBTimeSeriesStore(path)
    try:
        with pytest.raises(StoreUnavailable) as refused:
            await read_all(store, RangeQuery(name))
        assert refused.value.details == {"measurement": name}
        back, _ = await read_all(store, RangeQuery(name, columns=["open"]))
    finally:
        await store.close()
    assert back.column("open").to_pylist() == [1.0, 100.0, 101.0, 102.0, 103.0, 104.0]


async def test_a_file_from_before_the_order_mark_reads_sorted(tmp_path: Path) -> None:
    path, name = tmp_path / "series.duckdb", MeasurementName("bars_old")
    with duckdb.connect(str(path)) as raw:  # the catalog and a table as the store wrote them before the mark
        raw.execute(
            "CREATE TABLE _stage1_measurements (name VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, "
            "dedup_keys VARCHAR NOT NULL, symbols VARCHAR NOT NULL)"
        )
        raw.execute("INSERT INTO _stage1_measurements VALUES (?, 'ohlcv', '[\"timestamp\"]', '[]')", [name])
        raw.execute(f"CREATE TABLE {name} (timestamp TIMESTAMP NOT NULL, open DOUBLE)")
        raw.execute(f"INSERT INTO {name} VALUES (TIMESTAMP '2024-01-01 00:02:00', 3), (TIMESTAMP '2024-01-01', 1)")

    store = DuckDBTimeSeriesStore(path)
    try:
        back, _ = await read_all(store, RangeQuery(name))
        await store.write(name, stream(ohlcv(1, start_ns=START_NS + 3 * MINUTE_NS).select(["timestamp", "open"])))
        after, _ = await read_all(store, RangeQuery(name))
    finally:
        await store.close()
    assert back.column("open").to_pylist() == [1.0, 3.0]
    assert after.column("open").to_pylist() == [1.0, 3.0, 100.0]
