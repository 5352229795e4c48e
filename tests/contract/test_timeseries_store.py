"""One contract, three stores: memory, DuckDB and QuestDB answer every call alike."""

from __future__ import annotations

import csv
import io
import string
from datetime import UTC, datetime
from pathlib import Path

import anyio
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from tests.contract.timeseries_fixtures import (
    HOUR_NS,
    MINUTE_NS,
    START_NS,
    STORE_KINDS,
    Harness,
    export_text,
    make_store,
    ohlcv,
    read_all,
    stream,
    stream_batches,
)

from adapters.series.schema import normalize
from application.series_ports import RangeQuery, SampleBy, WriteOptions
from domain.errors import Forbidden, InvalidInput, NotFound, StoreTimeout
from domain.frames import FrameKind, WriteMode

# The QuestDB client warns when senders come and go quickly; the store opens one per write on purpose.
pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore:questdb.Sender. Detected a burst")]

OHLCV_AGGREGATES = SampleBy("1h", {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})


def predictions(folds: list[int], rows: int) -> pa.Table:
    stamps, bars, fold_numbers, scores, targets, thresholds = [], [], [], [], [], []
    for fold in folds:
        for index in range(rows):
            stamps.append(START_NS + index * HOUR_NS)
            bars.append(index)
            fold_numbers.append(fold)
            scores.append(fold + index / 10)
            targets.append(float(index % 2))
            thresholds.append(0.5 + fold / 100)
    return pa.table(
        {
            "timestamp": pa.array(stamps, pa.timestamp("ns")),
            "bar_index": pa.array(bars, pa.int64()),
            "fold_number": pa.array(fold_numbers, pa.int64()),
            "prediction": scores,
            "target": targets,
            "threshold_long": thresholds,
        }
    )


def trades(ids: list[int], price_shift: float = 0.0) -> pa.Table:
    stamps = [START_NS + (trade_id // 2) * HOUR_NS for trade_id in ids]
    return pa.table(
        {
            "timestamp": pa.array(stamps, pa.timestamp("ns")),
            "trade_id": pa.array(ids, pa.int64()),
            "entry_timestamp": pa.array([stamp + MINUTE_NS for stamp in stamps], pa.timestamp("ns")),
            "exit_timestamp": pa.array([stamp + 30 * MINUTE_NS for stamp in stamps], pa.timestamp("ns")),
            "side": ["long" if trade_id % 2 else "short" for trade_id in ids],
            "entry_price": [100.0 + trade_id + price_shift for trade_id in ids],
            "exit_price": [101.0 + trade_id for trade_id in ids],
            "pnl": [1.0 - price_shift for _ in ids],
            "fold_number": pa.array([1 for _ in ids], pa.int64()),
        }
    )


def sorted_by(table: pa.Table, *keys: str) -> pa.Table:
    return table.sort_by([(key, "ascending") for key in keys])


# ---------------------------------------------------------------- writes and reads


async def test_a_written_frame_reads_back_exactly(harness: Harness) -> None:
    name = harness.name("exact")
    frame = ohlcv(50)
    # The time column may arrive anywhere; it is stored first, the rest keep their order.
    shuffled = frame.select(["open", "high", "timestamp", "low", "close", "volume"])
    await harness.store.write(name, stream(shuffled, 7), WriteOptions(kind=FrameKind.OHLCV, granularity="1m"))

    back, _ = await read_all(harness.store, RangeQuery(name))

    assert back.schema.names == ["timestamp", "open", "high", "low", "close", "volume"]
    assert back.schema.field("timestamp").type == pa.timestamp("ns")
    assert back.equals(frame)


async def test_the_write_report_and_describe_give_rows_and_bounds(harness: Harness) -> None:
    name = harness.name("bounds")
    frame = ohlcv(30, step_ns=HOUR_NS)

    report = await harness.store.write(name, stream(frame, 8), WriteOptions(kind=FrameKind.OHLCV, granularity="1h"))
    info = await harness.store.describe(name)

    last = START_NS + 29 * HOUR_NS
    assert (report.measurement, report.rows_written, report.first_ns, report.last_ns) == (name, 30, START_NS, last)
    assert info is not None
    assert (info.name, info.row_count, info.first_ns, info.last_ns) == (name, 30, START_NS, last)
    assert info.designated_timestamp == "timestamp"
    assert info.partition_by
    assert [column.name for column in info.columns] == ["timestamp", "open", "high", "low", "close", "volume"]
    assert [column.type for column in info.columns] == ["TIMESTAMP"] + ["DOUBLE"] * 5
    assert [column.name for column in info.columns if column.designated] == ["timestamp"]
    assert info.dedup_keys == ["timestamp"]


async def test_a_retried_write_never_doubles_rows(harness: Harness) -> None:
    name = harness.name("retry")
    frame = ohlcv(100)

    await harness.store.write(name, stream(frame, 30), WriteOptions(kind=FrameKind.OHLCV))
    again = await harness.store.write(name, stream(frame, 45), WriteOptions(kind=FrameKind.OHLCV))

    info = await harness.store.describe(name)
    back, _ = await read_all(harness.store, RangeQuery(name))
    assert again.rows_written == 100
    assert info is not None and info.row_count == 100
    assert back.equals(frame)


async def test_appending_adds_new_keys_and_replaces_known_ones(harness: Harness) -> None:
    name = harness.name("append")
    await harness.store.write(name, stream(ohlcv(10)), WriteOptions(kind=FrameKind.OHLCV))
    later = ohlcv(10, start_ns=START_NS + 5 * MINUTE_NS, seed=0.25)

    report = await harness.store.write(name, stream(later), WriteOptions(kind=FrameKind.OHLCV))

    back, _ = await read_all(harness.store, RangeQuery(name, columns=["open"]))
    assert (report.rows_written, report.first_ns) == (10, START_NS + 5 * MINUTE_NS)
    assert back.num_rows == 15
    assert back.column("open").to_pylist() == [100.0 + i for i in range(5)] + [100.25 + i for i in range(10)]


async def test_rows_read_back_in_time_order_whatever_order_the_writes_came_in(harness: Harness) -> None:
    name = harness.name("order")
    minutes = [ohlcv(10, start_ns=START_NS + 10 * MINUTE_NS), ohlcv(10, start_ns=START_NS + 20 * MINUTE_NS)]
    for frame in minutes:  # each write strictly after the last: DuckDB reads these as stored, unsorted
        await harness.store.write(name, stream(frame, 3), WriteOptions(kind=FrameKind.OHLCV))
    first, _ = await read_all(harness.store, RangeQuery(name, columns=["open"], limit=4))
    assert first.column("open").to_pylist() == [100.0, 101.0, 102.0, 103.0]

    shuffled = ohlcv(5, seed=0.5).take([3, 0, 4, 1, 2])
    await harness.store.write(name, stream(shuffled, 2), WriteOptions(kind=FrameKind.OHLCV))  # earlier rows, out of order
    await harness.store.write(name, stream(ohlcv(1, start_ns=START_NS + 12 * MINUTE_NS, seed=9)), WriteOptions(kind=FrameKind.OHLCV))

    back, _ = await read_all(harness.store, RangeQuery(name))
    stamps = back.column("timestamp").cast(pa.int64()).to_pylist()
    assert stamps == sorted(stamps) and len(stamps) == 25
    assert back.column("open").to_pylist()[:7] == [100.5 + i for i in range(5)] + [100.0, 101.0]
    assert back.column("open").to_pylist()[7] == 109.0  # the upserted bar, in its place


async def test_replace_mode_drops_what_was_there(harness: Harness) -> None:
    name = harness.name("replace")
    await harness.store.write(name, stream(ohlcv(20)), WriteOptions(kind=FrameKind.OHLCV))
    fresh = pa.table(
        {
            "timestamp": pa.array([START_NS + HOUR_NS, START_NS + 2 * HOUR_NS], pa.timestamp("ns")),
            "rsi": [55.5, 61.25],
        }
    )

    report = await harness.store.write(name, stream(fresh), WriteOptions(kind=FrameKind.INDICATORS, mode=WriteMode.REPLACE))

    back, _ = await read_all(harness.store, RangeQuery(name))
    info = await harness.store.describe(name)
    assert report.rows_written == 2
    assert back.equals(fresh)
    assert info is not None and [column.name for column in info.columns] == ["timestamp", "rsi"]


async def test_columns_that_appear_later_are_added_and_missing_ones_read_as_null(harness: Harness) -> None:
    name = harness.name("widen")
    await harness.store.write(name, stream(ohlcv(3)), WriteOptions(kind=FrameKind.OHLCV))
    wider = ohlcv(2, start_ns=START_NS + 3 * MINUTE_NS).append_column("vwap", pa.array([1.5, 2.5]))
    narrower = ohlcv(1, start_ns=START_NS + 5 * MINUTE_NS).drop_columns(["volume"])

    await harness.store.write(name, stream_batches([*wider.to_batches(), *narrower.to_batches()]))

    back, _ = await read_all(harness.store, RangeQuery(name))
    assert back.schema.names == ["timestamp", "open", "high", "low", "close", "volume", "vwap"]
    assert back.num_rows == 6
    assert back.column("vwap").to_pylist() == [None, None, None, 1.5, 2.5, None]
    assert back.column("volume").to_pylist()[-1] is None


# ---------------------------------------------------------------- filters


async def test_range_bounds_are_inclusive_and_columns_and_limit_apply(harness: Harness) -> None:
    name = harness.name("range")
    frame = ohlcv(10)
    await harness.store.write(name, stream(frame), WriteOptions(kind=FrameKind.OHLCV))
    bar = [START_NS + index * MINUTE_NS for index in range(10)]

    inside, _ = await read_all(harness.store, RangeQuery(name, from_ns=bar[2] - 1, to_ns=bar[5] + 999))
    strict, _ = await read_all(harness.store, RangeQuery(name, from_ns=bar[2] + 1, to_ns=bar[5]))
    picked, _ = await read_all(
        harness.store, RangeQuery(name, from_ns=bar[2], to_ns=bar[5], columns=["close", "open"], limit=2)
    )

    assert inside.equals(frame.slice(2, 4))
    assert strict.equals(frame.slice(3, 3))
    assert picked.schema.names == ["timestamp", "close", "open"]
    assert picked.equals(frame.slice(2, 2).select(["timestamp", "close", "open"]))


async def test_equals_filters_rows_by_a_value_typed_like_its_column(harness: Harness) -> None:
    name = harness.name("folds")
    frame = predictions([1, 2, 3], 5)
    await harness.store.write(name, stream(frame, 4), WriteOptions(kind=FrameKind.PREDICTIONS))

    by_int, _ = await read_all(harness.store, RangeQuery(name, equals={"fold_number": 2}))
    by_text, _ = await read_all(harness.store, RangeQuery(name, equals={"fold_number": "2"}))
    info = await harness.store.describe(name)

    expected = frame.filter(pc.equal(frame.column("fold_number"), 2))
    assert by_int.equals(expected)
    assert by_text.equals(expected)
    assert info is not None and info.row_count == 15
    assert info.dedup_keys == ["timestamp", "fold_number"]
    with pytest.raises(InvalidInput):
        await read_all(harness.store, RangeQuery(name, equals={"fold_number": "two"}))
    with pytest.raises(InvalidInput) as missing:
        await read_all(harness.store, RangeQuery(name, equals={"fold": 2}))
    assert missing.value.details["unknown_columns"] == ["fold"]


async def test_equals_on_a_time_column_takes_epoch_nanoseconds_or_iso_text(harness: Harness) -> None:
    name = harness.name("timeeq")
    await harness.store.write(name, stream(trades([0, 1, 2, 3])), WriteOptions(kind=FrameKind.TRADES))

    by_nanos, _ = await read_all(harness.store, RangeQuery(name, equals={"entry_timestamp": START_NS + MINUTE_NS}))
    by_text, _ = await read_all(harness.store, RangeQuery(name, equals={"entry_timestamp": "2024-01-01T01:01:00Z"}))

    assert by_nanos.column("trade_id").to_pylist() == [0, 1]
    assert by_text.column("trade_id").to_pylist() == [2, 3]


async def test_a_text_filter_value_cannot_change_the_query(harness: Harness) -> None:
    name = harness.name("inject")
    await harness.store.write(name, stream(trades([1, 2, 3, 4])), WriteOptions(kind=FrameKind.TRADES))

    hostile, _ = await read_all(harness.store, RangeQuery(name, equals={"side": "long' OR '1'='1"}))
    quoted, _ = await read_all(harness.store, RangeQuery(name, equals={"side": "it's"}))
    longs, _ = await read_all(harness.store, RangeQuery(name, equals={"side": "long"}))

    assert hostile.num_rows == 0
    assert quoted.num_rows == 0
    assert longs.column("trade_id").to_pylist() == [1, 3]


async def test_an_unknown_column_is_invalid_input_listing_the_available_ones(harness: Harness) -> None:
    name = harness.name("unknown")
    await harness.store.write(name, stream(ohlcv(3)), WriteOptions(kind=FrameKind.OHLCV))

    with pytest.raises(InvalidInput) as raised:
        await read_all(harness.store, RangeQuery(name, columns=["open", "nope"]))

    assert raised.value.details["unknown_columns"] == ["nope"]
    assert raised.value.details["available_columns"] == ["timestamp", "open", "high", "low", "close", "volume"]


async def test_sample_by_aggregates_ohlcv_into_calendar_buckets(harness: Harness) -> None:
    name = harness.name("sample")
    # Eight 15-minute bars from 00:30: two fall in the 00:00 hour, four in 01:00, two in 02:00.
    frame = ohlcv(8, start_ns=START_NS + 30 * MINUTE_NS, step_ns=15 * MINUTE_NS)
    await harness.store.write(name, stream(frame, 3), WriteOptions(kind=FrameKind.OHLCV, granularity="15m"))

    sampled, _ = await read_all(harness.store, RangeQuery(name, sample_by=OHLCV_AGGREGATES))
    bounded, _ = await read_all(
        harness.store,
        RangeQuery(name, sample_by=OHLCV_AGGREGATES, from_ns=START_NS + HOUR_NS, columns=["volume"], limit=1),
    )

    assert sampled.to_pydict() == {
        "timestamp": [datetime(2024, 1, 1, hour) for hour in (0, 1, 2)],
        "open": [100.0, 102.0, 106.0],
        "high": [103.0, 107.0, 109.0],
        "low": [99.0, 101.0, 105.0],
        "close": [101.5, 105.5, 107.5],
        "volume": [21.0, 54.0, 26.0],
    }
    assert sampled.schema.field("timestamp").type == pa.timestamp("ns")
    assert bounded.to_pydict() == {"timestamp": [datetime(2024, 1, 1, 1)], "volume": [54.0]}


async def test_weekly_buckets_start_on_mondays_and_monthly_ones_on_the_first(harness: Harness) -> None:
    name = harness.name("calendar")
    # Hourly bars from Wednesday 2024-01-03 for 40 days.
    await harness.store.write(
        name, stream(ohlcv(24 * 40, start_ns=START_NS + 2 * 24 * HOUR_NS, step_ns=HOUR_NS), 500), WriteOptions(kind=FrameKind.OHLCV)
    )

    weeks, _ = await read_all(harness.store, RangeQuery(name, sample_by=SampleBy("1w", {}), columns=["close"]))
    fortnights, _ = await read_all(harness.store, RangeQuery(name, sample_by=SampleBy("2w", {}), columns=["close"]))
    months, _ = await read_all(harness.store, RangeQuery(name, sample_by=SampleBy("1M", {}), columns=["close"]))

    assert weeks.column("timestamp").to_pylist()[:3] == [datetime(2024, 1, day) for day in (1, 8, 15)]
    assert fortnights.column("timestamp").to_pylist()[:2] == [datetime(2024, 1, 1), datetime(2024, 1, 15)]
    assert months.column("timestamp").to_pylist() == [datetime(2024, 1, 1), datetime(2024, 2, 1)]
    assert months.column("close").to_pylist() == [100.5 + 24 * 29 - 1, 100.5 + 24 * 40 - 1]


async def test_sample_by_refuses_sums_of_text(harness: Harness) -> None:
    name = harness.name("badsum")
    await harness.store.write(name, stream(trades([1, 2])), WriteOptions(kind=FrameKind.TRADES))

    with pytest.raises(InvalidInput):
        await read_all(harness.store, RangeQuery(name, sample_by=SampleBy("1h", {"side": "sum"})))


@pytest.mark.parametrize(
    ("ts_unit", "expected"),
    [
        ("s", str(START_NS // 10**9)),
        ("ms", str(START_NS // 10**6)),
        ("us", str(START_NS // 10**3)),
        ("ns", str(START_NS)),
        ("iso", "2024-01-01T00:00:00+00:00"),
    ],
)
async def test_export_csv_writes_every_time_column_in_the_unit_asked_for(
    harness: Harness, ts_unit: str, expected: str
) -> None:
    name = harness.name("export")
    await harness.store.write(name, stream(trades([0, 2])), WriteOptions(kind=FrameKind.TRADES))

    text = await export_text(harness.store, RangeQuery(name, columns=["entry_timestamp", "pnl"]), ts_unit)

    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["timestamp", "entry_timestamp", "pnl"]
    assert len(rows) == 3
    first, entry = rows[1][0], rows[1][1]
    if ts_unit == "iso":
        assert datetime.fromisoformat(first).isoformat() == expected
        assert datetime.fromisoformat(entry) == datetime(2024, 1, 1, 0, 1, tzinfo=UTC)
    else:
        assert first == expected
        assert int(entry) - int(first) == 60 * {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[ts_unit]
    assert float(rows[1][2]) == 1.0


async def test_export_csv_of_an_empty_range_is_just_the_header(harness: Harness) -> None:
    name = harness.name("emptyexport")
    await harness.store.write(name, stream(ohlcv(3)), WriteOptions(kind=FrameKind.OHLCV))

    text = await export_text(harness.store, RangeQuery(name, from_ns=START_NS + HOUR_NS), "ms")

    assert list(csv.reader(io.StringIO(text))) == [["timestamp", "open", "high", "low", "close", "volume"]]


# ---------------------------------------------------------------- kinds


async def test_trades_keep_their_time_columns_and_dedup_by_trade_id(harness: Harness) -> None:
    name = harness.name("trades")
    # Trades 2 and 3 share a bar timestamp; only trade_id tells them apart.
    first = trades([1, 2, 3, 4])
    retried = trades([3, 4, 5], price_shift=0.5)

    await harness.store.write(name, stream(first, 2), WriteOptions(kind=FrameKind.TRADES))
    await harness.store.write(name, stream(retried), WriteOptions(kind=FrameKind.TRADES))

    back, _ = await read_all(harness.store, RangeQuery(name))
    info = await harness.store.describe(name)
    expected = pa.concat_tables([trades([1, 2]), retried])
    assert sorted_by(back, "timestamp", "trade_id").equals(expected)
    assert info is not None
    assert info.dedup_keys == ["timestamp", "trade_id"]
    assert {column.name: column.type for column in info.columns}["side"] == "SYMBOL"
    assert {column.name: column.type for column in info.columns}["exit_timestamp"] == "TIMESTAMP"


async def test_a_frame_without_the_dedup_key_is_refused(harness: Harness) -> None:
    name = harness.name("nokey")
    frame = predictions([1], 3).drop_columns(["fold_number"])

    with pytest.raises(InvalidInput) as raised:
        await harness.store.write(name, stream(frame), WriteOptions(kind=FrameKind.PREDICTIONS))

    assert raised.value.details["missing_columns"] == ["fold_number"]


async def test_a_large_write_reads_back_in_several_batches(harness: Harness) -> None:
    name = harness.name("large")
    frame = ohlcv(200_000, step_ns=MINUTE_NS)

    report = await harness.store.write(name, stream(frame, 50_000), WriteOptions(kind=FrameKind.OHLCV, granularity="1m"))

    back, batches = await read_all(harness.store, RangeQuery(name))
    assert report.rows_written == 200_000
    assert batches > 1
    assert back.equals(frame)


# ---------------------------------------------------------------- catalog


async def test_list_measurements_filters_by_prefix_and_sorts_by_name(harness: Harness) -> None:
    prefix = harness.name("ls", prefix="ctl_") + "_"
    for stem in ("b", "a"):
        await harness.store.write(harness.name(stem, prefix=prefix), stream(ohlcv(2)), WriteOptions(kind=FrameKind.OHLCV))
    await harness.store.write(harness.name("outside"), stream(ohlcv(1)), WriteOptions(kind=FrameKind.OHLCV))

    listed = await harness.store.list_measurements(prefix)

    names = [info.name for info in listed]
    assert len(names) == 2 and names == sorted(names)
    assert all(name.startswith(prefix + "a_") or name.startswith(prefix + "b_") for name in names)
    assert names[0].startswith(prefix + "a_")
    assert [info.row_count for info in listed] == [2, 2]
    assert all(info.designated_timestamp == "timestamp" for info in listed)


async def test_drop_removes_a_measurement_and_ignores_a_missing_one(harness: Harness) -> None:
    name = harness.name("drop")
    await harness.store.write(name, stream(ohlcv(2)), WriteOptions(kind=FrameKind.OHLCV))

    await harness.store.drop(name)
    await harness.store.drop(name)

    assert await harness.store.describe(name) is None
    with pytest.raises(NotFound):
        await read_all(harness.store, RangeQuery(name))


async def test_describe_of_a_missing_measurement_is_none(harness: Harness) -> None:
    assert await harness.store.describe(harness.name("never")) is None
    assert harness.name("never2") not in [info.name for info in await harness.store.list_measurements("ct_never")]


async def test_a_read_without_columns_orders_every_stored_column_as_the_query_says(harness: Harness) -> None:
    name = harness.name("colorder")
    frame = ohlcv(3)
    await harness.store.write(name, stream(frame), WriteOptions(kind=FrameKind.OHLCV))
    backwards = RangeQuery(name, column_order=lambda names: sorted(names, reverse=True))

    table, _ = await read_all(harness.store, backwards)
    text = b"".join([chunk async for chunk in harness.store.export_csv(backwards, "ms")]).decode()

    expected = ["timestamp", "volume", "open", "low", "high", "close"]
    assert table.schema.names == expected
    assert text.splitlines()[0] == ",".join(expected)
    assert table.column("volume").to_pylist() == frame.column("volume").to_pylist()


async def test_sample_rows_are_the_first_rows(harness: Harness) -> None:
    name = harness.name("samplerows")
    frame = ohlcv(20)
    await harness.store.write(name, stream(frame), WriteOptions(kind=FrameKind.OHLCV))

    assert (await harness.store.sample_rows(name, 5)).equals(frame.slice(0, 5))


# ---------------------------------------------------------------- client SQL


async def test_the_read_only_query_answers_a_select(harness: Harness) -> None:
    name = harness.name("select")
    await harness.store.write(name, stream(ohlcv(12)), WriteOptions(kind=FrameKind.OHLCV))

    counted = await harness.store.query(f"SELECT count(*) AS n FROM {name}", limit=10, timeout=10)
    limited = await harness.store.query(f"SELECT open FROM {name} ORDER BY timestamp", limit=3, timeout=10)

    assert counted.columns == [("n", "LONG")]
    assert counted.rows == [[12]]
    assert limited.columns == [("open", "DOUBLE")]
    assert limited.rows == [[100.0], [101.0], [102.0]]


@pytest.mark.parametrize("statement", ["INSERT INTO {name} (timestamp, open) VALUES (0, 1.0)", "DROP TABLE {name}"])
async def test_the_read_only_query_refuses_writes(harness: Harness, statement: str) -> None:
    name = harness.name("refuse")
    await harness.store.write(name, stream(ohlcv(4)), WriteOptions(kind=FrameKind.OHLCV))

    with pytest.raises(Forbidden):
        await harness.store.query(statement.format(name=name), limit=10, timeout=10)
    with pytest.raises(Forbidden):
        _ = [batch async for batch in harness.store.stream_sql(statement.format(name=name), timeout=10)]

    info = await harness.store.describe(name)
    assert info is not None and info.row_count == 4


async def test_stream_sql_streams_the_rows_of_a_select(harness: Harness) -> None:
    name = harness.name("streamsql")
    await harness.store.write(name, stream(ohlcv(70_000)), WriteOptions(kind=FrameKind.OHLCV))

    batches = [
        batch
        async for batch in harness.store.stream_sql(f"SELECT timestamp, close FROM {name} ORDER BY timestamp", 30)
    ]

    table = pa.Table.from_batches(batches)
    assert len(batches) > 1
    assert table.schema.names == ["timestamp", "close"]
    assert table.column("close").to_pylist() == [100.5 + index for index in range(70_000)]


HEAVY_SQL = {
    "memory": "SELECT count(*) FROM range(1000000000) a, range(1000000) b WHERE a.range + b.range = -1",
    "duckdb": "SELECT count(*) FROM range(1000000000) a, range(1000000) b WHERE a.range + b.range = -1",
    "questdb": "SELECT sum(rnd_double()) FROM long_sequence(3000000000)",
}


async def test_a_query_past_its_timeout_is_a_store_timeout(harness: Harness) -> None:
    with anyio.fail_after(30):
        with pytest.raises(StoreTimeout):
            await harness.store.query(HEAVY_SQL[harness.kind], limit=1, timeout=0.5)


async def test_ping_reports_the_store_up(harness: Harness) -> None:
    report = await harness.store.ping()

    assert report["status"] == "ok"
    assert report["latency_ms"] >= 0


# ---------------------------------------------------------------- property

COLUMN_NAMES = st.text(alphabet=string.ascii_lowercase + string.digits + "_", min_size=0, max_size=8).map(
    lambda tail: "c" + tail
)
TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12)
COLUMN_VALUES = {
    "float": (pa.float64(), st.one_of(st.none(), st.floats(allow_infinity=False, width=64))),
    "int": (pa.int64(), st.one_of(st.none(), st.integers(-(2**63) + 1, 2**63 - 1))),
    "text": (pa.string(), st.one_of(st.none(), TEXT)),
    "bool": (pa.bool_(), st.booleans()),
}
# Microsecond timestamps from 1970 to 2100.
STAMPS = st.lists(st.integers(0, 4_102_444_800_000_000), min_size=1, max_size=25, unique=True)


@st.composite
def frames(draw: st.DrawFn) -> pa.Table:
    micros = draw(STAMPS)
    names = draw(st.lists(COLUMN_NAMES, min_size=1, max_size=4, unique_by=str.lower))
    columns: dict[str, pa.Array] = {"timestamp": pa.array([value * 1000 for value in micros], pa.timestamp("ns"))}
    for name in names:
        dtype, values = COLUMN_VALUES[draw(st.sampled_from(sorted(COLUMN_VALUES)))]
        columns[name] = pa.array(draw(st.lists(values, min_size=len(micros), max_size=len(micros))), dtype)
    return pa.table(columns)


EXAMPLES = {"memory": 60, "duckdb": 40, "questdb": 12}


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_random_frames_read_back_as_they_were_written(kind: str, tmp_path: Path) -> None:
    async def round_trip(frame: pa.Table) -> None:
        subject = Harness(kind, make_store(kind, tmp_path))
        try:
            name = subject.name("prop")
            report = await subject.store.write(name, stream(frame, 10))
            back, _ = await read_all(subject.store, RangeQuery(name))
        finally:
            await subject.cleanup()
        expected = sorted_by(normalize(frame), "timestamp")
        assert report.rows_written == frame.num_rows
        assert back.schema == expected.schema
        assert back.to_pylist() == expected.to_pylist()

    # Shrinking against a real server takes minutes; QuestDB's failures are reported unshrunk.
    phases = [Phase.explicit, Phase.reuse, Phase.generate] + ([] if kind == "questdb" else [Phase.shrink])

    @settings(
        max_examples=EXAMPLES[kind],
        deadline=None,
        phases=phases,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(frame=frames())
    def check(frame: pa.Table) -> None:
        anyio.run(round_trip, frame)

    check()
