"""Reading uploads: every format lands as the same normalized Arrow frame, and bad input is a precise 400."""

from __future__ import annotations

import gzip
import io
from contextlib import aclosing
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.ipc as pa_ipc
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.frames import (
    UploadFormat,
    detect_format,
    iterate_table,
    open_frames,
    read_csv_text,
    read_frames,
    read_json_rows,
    read_table,
)
from domain.errors import InvalidInput, UnsupportedFormat
from domain.frames import FrameKind
from domain.values import iso_from_nanos

SECOND = 10**9
T0 = 1_704_067_200  # 2024-01-01T00:00:00Z
OHLCV_HEADER = "timestamp,open,high,low,close,volume"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def ohlcv_table(rows: int = 5) -> pa.Table:
    return pa.table(
        {
            "timestamp": pa.array([(T0 + 3600 * i) * 1000 for i in range(rows)], pa.int64()),
            "open": [100.0 + i for i in range(rows)],
            "high": [101.5 + i for i in range(rows)],
            "low": [99.25 + i for i in range(rows)],
            "close": [100.5 + i for i in range(rows)],
            "volume": [float(10 * i) for i in range(rows)],
        }
    )


def expected_ohlcv(rows: int = 5) -> pa.Table:
    source = ohlcv_table(rows)
    nanos = pa.array([(T0 + 3600 * i) * SECOND for i in range(rows)], pa.int64()).cast(pa.timestamp("ns"))
    return source.set_column(0, "timestamp", nanos)


def csv_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pa_csv.write_csv(table, sink, pa_csv.WriteOptions(quoting_style="none"))
    return sink.getvalue()


def write_all_formats(table: pa.Table, folder: Path) -> dict[str, Path]:
    paths = {
        "csv": folder / "frame.csv",
        "csv.gz": folder / "frame.csv.gz",
        "parquet": folder / "frame.parquet",
        "arrow_file": folder / "frame.arrow",
        "arrow_stream": folder / "frame.arrows",
    }
    paths["csv"].write_bytes(csv_bytes(table))
    paths["csv.gz"].write_bytes(gzip.compress(csv_bytes(table)))
    pq.write_table(table, paths["parquet"])
    with pa_ipc.new_file(str(paths["arrow_file"]), table.schema) as writer:
        writer.write_table(table)
    with pa_ipc.new_stream(str(paths["arrow_stream"]), table.schema) as writer:
        writer.write_table(table)
    return paths


async def collect(path: Path, kind: FrameKind, **options: object) -> list[pa.RecordBatch]:
    return [batch async for batch in read_frames(path, kind, **options)]  # type: ignore[arg-type]


def lines(*rows: str) -> bytes:
    return ("\n".join(rows) + "\n").encode()


def invalid(source: bytes, kind: FrameKind, **options: object) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        read_table(source, kind, **options)
    return caught.value


# ---------------------------------------------------------------- formats


@pytest.mark.anyio
@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "parquet", "arrow_file", "arrow_stream"])
async def test_every_upload_format_reads_back_the_same_normalized_frame(tmp_path: Path, fmt: str) -> None:
    path = write_all_formats(ohlcv_table(), tmp_path)[fmt]
    batches = await collect(path, FrameKind.OHLCV)
    table = pa.Table.from_batches(batches)
    assert table.equals(expected_ohlcv())


@pytest.mark.anyio
async def test_typed_frames_have_their_columns_cast_to_the_contract_types(tmp_path: Path) -> None:
    table = pa.table(
        {
            "timestamp_unix": pa.array([T0, T0 + 60], pa.int32()),
            "bar_index": pa.array([1.0, 2.0]),
            "fold_number": pa.array([0, 0], pa.int8()),
            "prediction": pa.array([1, 0], pa.int64()),
            "target": pa.array(["0.5", " 1.5 "]),
            "threshold_a": pa.array([1, 2], pa.int16()),
        }
    )
    path = write_all_formats(table, tmp_path)["parquet"]
    result = pa.Table.from_batches(await collect(path, FrameKind.PREDICTIONS))
    assert result.schema.names == ["timestamp", "bar_index", "fold_number", "prediction", "target", "threshold_a"]
    assert [field.type for field in result.schema] == [
        pa.timestamp("ns"),
        pa.int64(),
        pa.int64(),
        pa.float64(),
        pa.float64(),
        pa.float64(),
    ]
    assert result.column("target").to_pylist() == [0.5, 1.5]


@pytest.mark.anyio
async def test_a_csv_larger_than_one_block_streams_in_several_batches(tmp_path: Path) -> None:
    path = write_all_formats(ohlcv_table(3000), tmp_path)["csv"]
    assert path.stat().st_size > 3 * 4096
    batches = await collect(path, FrameKind.OHLCV, block_size=4096, batch_rows=10**6)
    assert len(batches) > 3
    assert pa.Table.from_batches(batches).equals(expected_ohlcv(3000))


@pytest.mark.anyio
async def test_batches_never_exceed_the_requested_row_count(tmp_path: Path) -> None:
    for path in write_all_formats(ohlcv_table(2500), tmp_path).values():
        batches = await collect(path, FrameKind.OHLCV, batch_rows=1000)
        assert [batch.num_rows for batch in batches] == [1000, 1000, 500], path.name


def test_a_header_only_csv_has_a_schema_and_no_rows() -> None:
    with open_frames(lines(OHLCV_HEADER), FrameKind.OHLCV) as reader:
        assert list(reader) == []
        assert reader.schema.names == ["timestamp", "open", "high", "low", "close", "volume"]
        assert reader.schema.field("timestamp").type == pa.timestamp("ns")


def test_time_columns_may_be_named_timestamp_unix_and_hold_iso_text() -> None:
    source = lines(
        "timestamp_unix,open,high,low,close,volume",
        "2024-01-01T00:00:00Z,1,2,0.5,1.5,10",
        "2024-01-01T02:00:00+01:00,1,2,0.5,1.5,10",
        "2024-01-01 02:00:00,1,2,0.5,1.5,10",
    )
    table = read_table(source, FrameKind.OHLCV)
    assert table.schema.names[0] == "timestamp"
    assert "timestamp_unix" not in table.schema.names
    assert table.column("timestamp").cast(pa.int64()).to_pylist() == [
        T0 * SECOND,
        (T0 + 3600) * SECOND,
        (T0 + 7200) * SECOND,
    ]


def test_header_names_are_trimmed_and_a_utf8_bom_is_ignored() -> None:
    source = b"\xef\xbb\xbf timestamp , open,high,low,close,volume\n1704067200,1,2,0.5,1.5,10\n"
    table = read_table(source, FrameKind.OHLCV)
    assert table.schema.names == ["timestamp", "open", "high", "low", "close", "volume"]


def test_an_unnamed_index_column_written_by_pandas_is_left_behind() -> None:
    table = read_table(lines("," + OHLCV_HEADER, f"0,{T0},1,2,0.5,1.5,10"), FrameKind.OHLCV)
    assert table.schema.names == ["timestamp", "open", "high", "low", "close", "volume"]


def test_indicator_columns_that_start_as_integers_accept_fractions_in_later_blocks() -> None:
    rows = [f"{T0 + i},{i}" for i in range(2000)] + [f"{T0 + 2000},0.5"]
    table = read_table(lines("timestamp,rsi", *rows), FrameKind.INDICATORS, content_type="text/csv")
    assert table.column("rsi").type == pa.float64()
    assert table.column("rsi")[-1].as_py() == 0.5


def test_trades_keep_their_bar_timestamp_and_get_a_row_time_and_sequence() -> None:
    source = lines(
        "bar_timestamp,entry_timestamp,exit_timestamp,side,entry_price,exit_price,pnl",
        "2024-01-01T00:00:00Z,1704067200000,,LONG,100,101,1",
        f"{T0 + 60},2024-01-01T00:01:00Z,{T0 + 120},Short ,101,100,1",
    )
    table = read_table(source, FrameKind.TRADES)
    assert table.schema.names[:2] == ["timestamp", "trade_id"]
    rows = table.to_pylist()
    assert [row["trade_id"] for row in rows] == [1, 2]
    assert [row["side"] for row in rows] == ["long", "short"]
    assert table.column("timestamp").equals(table.column("bar_timestamp"))
    assert table.column("entry_timestamp").cast(pa.int64()).to_pylist() == [T0 * SECOND, (T0 + 60) * SECOND]
    assert table.column("exit_timestamp").cast(pa.int64()).to_pylist() == [None, (T0 + 120) * SECOND]


def test_trade_ids_are_numbered_across_batches_when_the_upload_has_none() -> None:
    rows = [f"{T0 + i},{'long' if i % 2 else 'short'},1,2,1" for i in range(250)]
    source = lines("bar_timestamp,side,entry_price,exit_price,pnl", *rows)
    with open_frames(source, FrameKind.TRADES, batch_rows=100) as reader:
        ids = [trade_id for batch in reader for trade_id in batch.column("trade_id").to_pylist()]
    assert ids == list(range(1, 251))


def test_generic_frames_keep_their_columns_and_turn_time_text_into_times() -> None:
    source = lines("timestamp,symbol,count,opened", f"{T0},BTC,3,2024-01-02", f"{T0 + 1},ETH,4,")
    table = read_table(source, FrameKind.GENERIC)
    assert table.schema.names == ["timestamp", "symbol", "count", "opened"]
    assert table.column("symbol").to_pylist() == ["BTC", "ETH"]
    assert table.column("count").type == pa.int64()
    assert table.column("opened").type == pa.timestamp("ns")
    assert table.column("opened").cast(pa.int64()).to_pylist() == [(T0 + 86_400) * SECOND, None]


@pytest.mark.anyio
async def test_leaving_a_read_early_closes_the_file(tmp_path: Path) -> None:
    path = write_all_formats(ohlcv_table(500), tmp_path)["csv"]

    def open_handles() -> int:
        fds = Path("/proc/self/fd")
        return sum(1 for fd in fds.iterdir() if fd.exists() and fd.resolve() == path)

    async with aclosing(read_frames(path, FrameKind.OHLCV, batch_rows=100)) as batches:
        async for _ in batches:
            assert open_handles() == 1
            break
    assert open_handles() == 0


@pytest.mark.anyio
async def test_an_in_memory_table_streams_as_batches() -> None:
    batches = [batch async for batch in iterate_table(expected_ohlcv(250), batch_rows=100)]
    assert [batch.num_rows for batch in batches] == [100, 100, 50]


# ---------------------------------------------------------------- header problems


@pytest.mark.parametrize(
    ("kind", "header", "missing"),
    [
        (FrameKind.OHLCV, "timestamp,open,close", ["high", "low", "volume"]),
        (FrameKind.OHLCV, "time,open,high,low,close,volume", ["timestamp"]),
        (FrameKind.INDICATORS, "rsi,macd", ["timestamp"]),
        (FrameKind.PREDICTIONS, "timestamp,bar_index,prediction", ["fold_number", "target"]),
        (FrameKind.TRADES, "bar_timestamp,side,pnl", ["entry_price", "exit_price"]),
    ],
)
def test_a_missing_column_is_a_400_listing_missing_and_found_columns(
    kind: FrameKind, header: str, missing: list[str]
) -> None:
    error = invalid(lines(header, ",".join("1" for _ in header.split(","))), kind)
    assert error.details == {"missing_columns": missing, "found_columns": header.split(",")}


@pytest.mark.anyio
async def test_a_missing_column_in_a_parquet_file_fails_before_any_batch(tmp_path: Path) -> None:
    path = tmp_path / "bars.parquet"
    pq.write_table(ohlcv_table().drop_columns(["volume"]), path)
    with pytest.raises(InvalidInput) as caught:
        await collect(path, FrameKind.OHLCV)
    assert caught.value.details["missing_columns"] == ["volume"]


# ---------------------------------------------------------------- bad cells


@pytest.mark.parametrize("bad_row", [0, 7, 2500])
@pytest.mark.parametrize("compressed", [False, True])
def test_an_unparsable_number_is_a_400_naming_its_file_line_and_column(bad_row: int, compressed: bool) -> None:
    rows = [f"{T0 + i},1,2,0.5,{'abc' if i == bad_row else '1.5'},10" for i in range(3000)]
    source = lines(OHLCV_HEADER, *rows)
    if compressed:
        source = gzip.compress(source)
    with pytest.raises(InvalidInput) as caught, open_frames(source, FrameKind.OHLCV, block_size=4096) as reader:
        list(reader)
    assert caught.value.details == {"row": bad_row + 1, "line": bad_row + 2, "column": "close", "value": "abc"}
    assert f"line {bad_row + 2}" in caught.value.message


@pytest.mark.parametrize("compressed", [False, True])
def test_line_numbers_count_the_blank_lines_the_csv_parser_skips(compressed: bool) -> None:
    good = f"{T0},1,2,0.5,1.5,10"
    for bad, column in ((f"{T0},1,2,0.5,x,10", "close"), ("soon,1,2,0.5,1.5,10", "timestamp")):
        source = ("\r\n".join([OHLCV_HEADER, "", good, "", "", good, bad, good]) + "\r\n").encode()
        error = invalid(gzip.compress(source) if compressed else source, FrameKind.OHLCV)
        assert (error.details["line"], error.details["column"]) == (7, column)
        assert error.message.startswith("row 3 (line 7): ")


def test_a_fraction_in_an_integer_column_is_a_400_with_its_line() -> None:
    source = lines(
        "timestamp,bar_index,fold_number,prediction,target",
        f"{T0},1,0,0.5,1",
        f"{T0 + 60},2.5,0,0.5,1",
    )
    error = invalid(source, FrameKind.PREDICTIONS)
    assert error.details == {"row": 2, "line": 3, "column": "bar_index", "value": "2.5"}


def test_a_row_with_too_few_fields_is_a_400_with_its_line() -> None:
    error = invalid(lines(OHLCV_HEADER, f"{T0},1,2,0.5,1.5,10", f"{T0 + 1},1,2"), FrameKind.OHLCV)
    assert error.details["line"] == 3
    assert error.details["expected_columns"] == 6


@pytest.mark.parametrize("blank", ["", '""', "   "])
def test_a_blank_timestamp_is_a_400_with_its_line(blank: str) -> None:
    rows = [f"2024-01-01T00:0{i}:00Z,1,2,0.5,1.5,10" for i in range(5)]
    rows[3] = f"{blank},1,2,0.5,1.5,10"
    error = invalid(lines(OHLCV_HEADER, *rows), FrameKind.OHLCV)
    assert error.details == {"row": 4, "line": 5, "column": "timestamp"}


def test_a_timestamp_that_is_no_time_is_a_400_with_its_line_even_in_a_later_batch() -> None:
    rows = [f"2024-01-01T00:00:{i % 60:02d}Z,1,2,0.5,1.5,10" for i in range(300)]
    rows[250] = "next tuesday,1,2,0.5,1.5,10"
    with (
        pytest.raises(InvalidInput) as caught,
        open_frames(lines(OHLCV_HEADER, *rows), FrameKind.OHLCV, batch_rows=100) as reader,
    ):
        list(reader)
    assert caught.value.details == {"row": 251, "line": 252, "column": "timestamp", "value": "next tuesday"}


def test_a_blank_epoch_timestamp_is_a_400_with_its_line() -> None:
    error = invalid(lines(OHLCV_HEADER, f"{T0},1,2,0.5,1.5,10", ",1,2,0.5,1.5,10"), FrameKind.OHLCV)
    assert error.details == {"row": 2, "line": 3, "column": "timestamp"}


def test_a_side_other_than_long_or_short_is_a_400_with_its_line() -> None:
    source = lines(
        "bar_timestamp,side,entry_price,exit_price,pnl",
        f"{T0},long,1,2,1",
        f"{T0 + 60},sideways,1,2,1",
    )
    error = invalid(source, FrameKind.TRADES)
    assert error.details == {"row": 2, "line": 3, "column": "side", "value": "sideways"}


def test_a_bad_cell_in_a_parquet_file_names_its_row(tmp_path: Path) -> None:
    table = ohlcv_table(4).set_column(4, "close", pa.array(["1", "2", "x", "4"]))
    path = tmp_path / "bars.parquet"
    pq.write_table(table, path)
    with pytest.raises(InvalidInput) as caught:
        read_table(path, FrameKind.OHLCV)
    assert caught.value.details == {"row": 3, "column": "close", "value": "x"}


# ---------------------------------------------------------------- format detection


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (b"\x1f\x8b\x08\x00", UploadFormat.CSV_GZIP),
        (b"PAR1\x15\x04", UploadFormat.PARQUET),
        (b"ARROW1\x00\x00", UploadFormat.ARROW_FILE),
        (b"\xff\xff\xff\xff\x10\x01", UploadFormat.ARROW_STREAM),
        (b"timestamp,open\n1,2\n", UploadFormat.CSV),
    ],
)
def test_formats_are_recognised_by_their_magic_bytes_whatever_was_declared(head: bytes, fmt: UploadFormat) -> None:
    assert detect_format(head, "application/octet-stream", "upload.bin") is fmt
    assert detect_format(head, None, None) is fmt


@pytest.mark.parametrize(
    ("head", "content_type", "filename"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png", "chart.png"),
        (b"PK\x03\x04\x14\x00\x06\x00", None, "bars.xlsx"),
        (b"\x00\x01\x02\x03binary", "application/octet-stream", None),
        (b'{"timestamp": 1}', "application/json", None),
        (b"timestamp,open\n", None, "bars.json"),
    ],
)
def test_anything_but_a_frame_format_is_a_415(head: bytes, content_type: str | None, filename: str | None) -> None:
    with pytest.raises(UnsupportedFormat):
        detect_format(head, content_type, filename)


def test_a_legacy_arrow_stream_is_taken_on_its_declared_type() -> None:
    head = b"\x08\x01\x00\x00\x10\x00"
    assert detect_format(head, "application/vnd.apache.arrow.stream", None) is UploadFormat.ARROW_STREAM


@pytest.mark.anyio
async def test_an_uploaded_image_is_a_415_and_an_empty_file_a_400(tmp_path: Path) -> None:
    image = tmp_path / "chart.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    with pytest.raises(UnsupportedFormat):
        await collect(image, FrameKind.OHLCV)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InvalidInput):
        await collect(empty, FrameKind.OHLCV)


def test_an_empty_or_blank_upload_is_a_400() -> None:
    for source in (b"", b"\n\n  \n"):
        with pytest.raises(InvalidInput):
            read_table(source, FrameKind.OHLCV)
    with pytest.raises(InvalidInput):
        read_csv_text("   ", FrameKind.OHLCV)


def test_corrupt_gzip_is_a_400() -> None:
    with pytest.raises(InvalidInput):
        read_table(b"\x1f\x8b\x08\x00garbage-not-deflate", FrameKind.OHLCV)


# ---------------------------------------------------------------- JSON and text forms


def test_json_prediction_rows_normalize_like_a_file() -> None:
    rows = [
        {"timestamp": "2024-01-01T00:00:00Z", "bar_index": 0, "fold_number": 1, "prediction": 0.5, "target": 1},
        {"timestamp": (T0 + 60) * 1000, "bar_index": 1, "fold_number": 1, "prediction": 1, "target": None},
        {"timestamp": T0 + 120, "bar_index": 2.0, "fold_number": 1, "prediction": "0.25", "threshold_hi": 0.7},
    ]
    table = read_json_rows(rows, FrameKind.PREDICTIONS)
    assert table.schema.names == [
        "timestamp", "bar_index", "fold_number", "prediction", "target", "threshold_hi",
    ]  # fmt: skip
    assert table.column("timestamp").cast(pa.int64()).to_pylist() == [
        T0 * SECOND,
        (T0 + 60) * SECOND,
        (T0 + 120) * SECOND,
    ]
    assert table.column("bar_index").type == pa.int64()
    assert table.column("prediction").to_pylist() == [0.5, 1.0, 0.25]
    assert table.column("threshold_hi").to_pylist() == [None, None, 0.7]


def test_a_bad_json_cell_is_a_400_naming_the_row_index_and_column() -> None:
    rows = [
        {"timestamp": T0, "bar_index": 0, "fold_number": 1, "prediction": 0.5, "target": 1},
        {"timestamp": T0 + 60, "bar_index": 1, "fold_number": 1, "prediction": "high", "target": 1},
    ]
    with pytest.raises(InvalidInput) as caught:
        read_json_rows(rows, FrameKind.PREDICTIONS)
    assert caught.value.details == {"row": 2, "column": "prediction", "value": "high"}


def test_json_rows_with_missing_columns_or_a_non_object_are_400s() -> None:
    with pytest.raises(InvalidInput) as caught:
        read_json_rows([{"bar_timestamp": T0, "side": "long"}], FrameKind.TRADES)
    assert caught.value.details["missing_columns"] == ["entry_price", "exit_price", "pnl"]
    with pytest.raises(InvalidInput) as caught:
        read_json_rows([{"timestamp": T0}, 5], FrameKind.INDICATORS)
    assert caught.value.details == {"row": 2}
    with pytest.raises(InvalidInput):
        read_json_rows({"timestamp": T0}, FrameKind.INDICATORS)


def test_json_trade_rows_validate_the_side_by_row() -> None:
    rows = [
        {"bar_timestamp": T0, "side": "Long", "entry_price": 1, "exit_price": 2, "pnl": 1},
        {"bar_timestamp": T0 + 60, "side": None, "entry_price": 1, "exit_price": 2, "pnl": 1},
    ]
    with pytest.raises(InvalidInput) as caught:
        read_json_rows(rows, FrameKind.TRADES)
    assert caught.value.details == {"row": 2, "column": "side"}


def test_csv_text_reads_like_an_uploaded_csv() -> None:
    text = csv_bytes(ohlcv_table()).decode()
    assert read_csv_text(text, FrameKind.OHLCV).equals(expected_ohlcv())


# ---------------------------------------------------------------- property


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
bar = st.tuples(st.integers(T0 - 10**8, T0 + 10**9), finite, finite, finite, finite, finite)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(bar, min_size=1, max_size=40), st.sampled_from(["s", "ms", "us", "ns", "iso"]))
def test_any_ohlcv_frame_written_as_csv_reads_back_equal(rows: list[tuple[int, ...]], unit: str) -> None:
    scale = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}
    body = [
        ",".join(
            [
                iso_from_nanos(seconds * SECOND) if unit == "iso" else str(seconds * scale[unit]),
                *(repr(price) for price in prices),
            ]
        )
        for seconds, *prices in rows
    ]
    table = read_csv_text("\n".join([OHLCV_HEADER, *body]), FrameKind.OHLCV)
    assert table.column("timestamp").cast(pa.int64()).to_pylist() == [row[0] * SECOND for row in rows]
    for index, name in enumerate(["open", "high", "low", "close", "volume"], start=1):
        assert table.column(name).to_pylist() == [row[index] for row in rows]
