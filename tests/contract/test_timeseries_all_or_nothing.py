"""A write is all or nothing on every store: when its rows stop midway — the reader fails, the process is
told to stop — the measurement keeps exactly the rows and columns it had, in append and in replace mode."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pyarrow as pa
import pytest
from tests.contract.timeseries_fixtures import MINUTE_NS, START_NS, Harness, ohlcv, read_all

from application.series_ports import RangeQuery, WriteOptions
from domain.frames import FrameKind, WriteMode

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore:questdb.Sender. Detected a burst")]

# Several of the QuestDB store's flushes (at least 10,000 rows each) go out before the failure.
BATCH_ROWS = 15_000


class ReaderDied(Exception):
    pass


async def dying_after(batches: int) -> AsyncIterator[pa.RecordBatch]:
    """OHLCV rows with a column the measurement lacks, then a failure."""
    start = START_NS + 10_000 * MINUTE_NS
    for index in range(batches):
        frame = ohlcv(BATCH_ROWS, start_ns=start + index * BATCH_ROWS * MINUTE_NS, seed=0.5)
        yield frame.append_column("vwap", pa.array([1.25] * BATCH_ROWS)).to_batches()[0]
    raise ReaderDied("the upload ended midway")


async def snapshot(harness: Harness, name: str) -> tuple[object, ...]:
    info = await harness.store.describe(name)  # type: ignore[arg-type]
    assert info is not None
    rows, _ = await read_all(harness.store, RangeQuery(name))  # type: ignore[arg-type]
    columns = [(column.name, column.type) for column in info.columns]
    return info.row_count, info.first_ns, info.last_ns, columns, list(info.dedup_keys), rows


@pytest.mark.parametrize("mode", [WriteMode.APPEND, WriteMode.REPLACE])
async def test_a_write_that_dies_midway_leaves_the_measurement_as_it_was(harness: Harness, mode: WriteMode) -> None:
    name = harness.name("midway")
    await harness.store.write(name, _once(ohlcv(1_000)), WriteOptions(kind=FrameKind.OHLCV))
    before = await snapshot(harness, name)

    with pytest.raises(ReaderDied):
        await harness.store.write(name, dying_after(3), WriteOptions(kind=FrameKind.OHLCV, mode=mode))

    assert await snapshot(harness, name) == before


async def test_a_new_measurement_whose_write_dies_is_not_created(harness: Harness) -> None:
    name = harness.name("never")
    with pytest.raises(ReaderDied):
        await harness.store.write(name, dying_after(2), WriteOptions(kind=FrameKind.OHLCV))
    assert await harness.store.describe(name) is None
    assert name not in [info.name for info in await harness.store.list_measurements(name[:12])]


async def test_a_complete_append_still_adds_its_rows_and_columns(harness: Harness) -> None:
    name = harness.name("whole")
    await harness.store.write(name, _once(ohlcv(1_000)), WriteOptions(kind=FrameKind.OHLCV))

    wider = ohlcv(3, start_ns=START_NS + 2_000 * MINUTE_NS).append_column("vwap", pa.array([1.5, 2.5, 3.5]))
    report = await harness.store.write(name, _once(wider), WriteOptions(kind=FrameKind.OHLCV))

    info = await harness.store.describe(name)
    assert report.rows_written == 3
    assert info is not None and info.row_count == 1_003
    assert [column.name for column in info.columns][-1] == "vwap"


async def test_appends_that_create_one_measurement_at_once_keep_every_writers_rows(harness: Harness) -> None:
    """Concurrent first writes to a new name: whichever lands first creates it, the others append to it."""
    name = harness.name("together")
    writers = 4
    frames = [ohlcv(500, start_ns=START_NS + index * 500 * MINUTE_NS, seed=index) for index in range(writers)]
    async with anyio.create_task_group() as group:
        for frame in frames:
            group.start_soon(lambda frame=frame: harness.store.write(name, _once(frame), WriteOptions(kind=FrameKind.OHLCV)))

    rows, _ = await read_all(harness.store, RangeQuery(name))  # type: ignore[arg-type]
    assert rows.num_rows == writers * 500
    assert sorted(rows.column("open").to_pylist()) == sorted(
        value for frame in frames for value in frame.column("open").to_pylist()
    )


async def _once(table: pa.Table) -> AsyncIterator[pa.RecordBatch]:
    for batch in table.to_batches(max_chunksize=BATCH_ROWS):
        yield batch
