"""Encoding Arrow streams for clients: every format decodes back to the rows that went in."""

from __future__ import annotations

import io
import json
import math
from collections.abc import AsyncIterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.ipc as pa_ipc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.frames import MEDIA_TYPES, OutputFormat, encode, encode_table, negotiate
from adapters.frames.encoders import CHUNK_ROWS, prepare_batch, prepared_schema
from adapters.frames.json_rows import rows_json
from domain.errors import InvalidInput

SECOND = 10**9
T0 = 1_704_067_200


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def frame(rows: int = 3) -> pa.Table:
    return pa.table(
        {
            "timestamp": pa.array([(T0 + 60 * i) * SECOND for i in range(rows)], pa.timestamp("ns")),
            "close": [100.5 + i for i in range(rows)],
            "volume": pa.array(list(range(rows)), pa.int64()),
            "side": ["long" if i % 2 else "short" for i in range(rows)],
        }
    )


async def stream(batches: Sequence[pa.RecordBatch]) -> AsyncIterator[pa.RecordBatch]:
    for batch in batches:
        yield batch


async def encoded(
    batches: Sequence[pa.RecordBatch],
    fmt: str,
    ts_unit: str = "ms",
    columns_order: Sequence[str] | None = None,
    schema: pa.Schema | None = None,
) -> tuple[bytes, int]:
    chunks = [chunk async for chunk in encode(stream(batches), fmt, ts_unit, columns_order, schema=schema)]
    # bytes, or (Arrow batches) a memoryview of pyarrow's buffer; never an empty chunk
    assert all(isinstance(chunk, bytes | memoryview) and len(chunk) for chunk in chunks)
    return b"".join(chunks), len(chunks)


def ms_rows(table: pa.Table) -> list[dict[str, Any]]:
    nanos = table.column("timestamp").cast(pa.int64()).to_pylist()
    return [{**row, "timestamp": stamp // 10**6} for row, stamp in zip(table.to_pylist(), nanos, strict=True)]


# ---------------------------------------------------------------- round trips


@pytest.mark.anyio
async def test_csv_decodes_back_to_the_same_rows_with_one_header() -> None:
    table = frame(10)
    body, _ = await encoded(table.to_batches(max_chunksize=3), "csv")
    assert body.count(b"timestamp") == 1
    decoded = pa_csv.read_csv(io.BytesIO(body))
    assert decoded.to_pylist() == ms_rows(table)


@pytest.mark.anyio
async def test_json_is_one_array_of_row_objects_across_batches() -> None:
    table = frame(10)
    body, chunks = await encoded(table.to_batches(max_chunksize=3), "json")
    assert chunks > 1
    assert json.loads(body) == ms_rows(table)


@pytest.mark.anyio
async def test_ndjson_is_one_object_per_line() -> None:
    table = frame(10)
    body, _ = await encoded(table.to_batches(max_chunksize=4), "ndjson")
    assert body.endswith(b"\n")
    assert [json.loads(line) for line in body.splitlines()] == ms_rows(table)


@pytest.mark.anyio
async def test_arrow_is_an_ipc_stream_with_the_same_rows() -> None:
    table = frame(10)
    body, chunks = await encoded(table.to_batches(max_chunksize=4), "arrow")
    assert chunks == 4  # three batches, then the end-of-stream marker
    decoded = pa_ipc.open_stream(body).read_all()
    assert decoded.schema.field("timestamp").type == pa.int64()
    assert decoded.to_pylist() == ms_rows(table)


@pytest.mark.anyio
@pytest.mark.parametrize("sizes", [[4, 4, 2], [0], [3, 0, 1], []])
async def test_arrow_bytes_are_those_of_pyarrows_own_stream_writer(sizes: list[int]) -> None:
    table, starts = frame(sum(sizes)), [sum(sizes[:i]) for i in range(len(sizes))]
    batches = [table.slice(start, size).combine_chunks().to_batches()[0] if size else
               pa.RecordBatch.from_pylist([], schema=table.schema) for start, size in zip(starts, sizes, strict=True)]
    body, _ = await encoded(batches, "arrow", schema=table.schema)
    prepared = [prepare_batch(batch, "ms") for batch in batches]
    sink = pa.BufferOutputStream()
    with pa_ipc.new_stream(sink, prepared_schema(table.schema, "ms")) as writer:
        for batch in prepared:
            writer.write_batch(batch)
    assert body == sink.getvalue().to_pybytes()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("unit", "value"),
    [
        ("s", T0),
        ("ms", T0 * 10**3 + 250),
        ("us", T0 * 10**6 + 250_000),
        ("ns", T0 * SECOND + 250_000_000),
        ("iso", "2024-01-01T00:00:00.250000Z"),
    ],
)
async def test_every_time_column_goes_out_in_the_requested_unit(unit: str, value: int | str) -> None:
    nanos = T0 * SECOND + 250_000_000
    batch = pa.record_batch(
        {
            "timestamp": pa.array([nanos], pa.timestamp("ns")),
            "entry_timestamp": pa.array([nanos // 10**6], pa.timestamp("ms", "UTC")),
            "exit_timestamp": pa.array([None], pa.timestamp("ns")),
        }
    )
    body, _ = await encoded([batch], "json", unit)
    assert json.loads(body) == [{"timestamp": value, "entry_timestamp": value, "exit_timestamp": None}]


@pytest.mark.anyio
async def test_iso_times_in_csv_are_plain_utc_text() -> None:
    body, _ = await encoded(frame(1).to_batches(), "csv", "iso")
    assert body.decode().splitlines() == ["timestamp,close,volume,side", "2024-01-01T00:00:00Z,100.5,0,short"]


@pytest.mark.anyio
async def test_columns_go_out_in_the_requested_order_with_the_rest_after() -> None:
    body, _ = await encoded(frame(1).to_batches(), "csv", columns_order=["side", "missing", "timestamp"])
    assert body.splitlines()[0] == b"side,timestamp,close,volume"


# ---------------------------------------------------------------- empty streams


@pytest.mark.anyio
async def test_an_empty_stream_is_still_a_valid_document() -> None:
    schema = frame().schema
    assert (await encoded([], "json"))[0] == b"[]"
    assert (await encoded([], "ndjson"))[0] == b""
    assert (await encoded([], "csv"))[0] == b""
    assert (await encoded([], "csv", schema=schema))[0] == b"timestamp,close,volume,side\n"
    arrow, _ = await encoded([], "arrow", schema=schema)
    decoded = pa_ipc.open_stream(arrow).read_all()
    assert decoded.num_rows == 0
    assert decoded.schema.names == schema.names
    assert decoded.schema.field("timestamp").type == pa.int64()
    assert pa_ipc.open_stream((await encoded([], "arrow"))[0]).read_all().num_rows == 0


@pytest.mark.anyio
async def test_an_empty_batch_gives_the_csv_header_and_the_arrow_schema() -> None:
    empty = frame(0).to_batches() or [pa.RecordBatch.from_pylist([], schema=frame().schema)]
    csv, _ = await encoded(empty, "csv")
    assert csv == b"timestamp,close,volume,side\n"
    assert json.loads((await encoded(empty, "json"))[0]) == []
    assert pa_ipc.open_stream((await encoded(empty, "arrow"))[0]).schema.names == frame().schema.names


# ---------------------------------------------------------------- awkward values


@pytest.mark.anyio
async def test_nan_and_infinity_are_null_in_json_and_empty_in_csv() -> None:
    batch = pa.record_batch({"x": [1.0, math.nan, math.inf, -math.inf, None]})
    for fmt in ("json", "ndjson"):
        body, _ = await encoded([batch], fmt)
        rows = json.loads(body) if fmt == "json" else [json.loads(line) for line in body.splitlines()]
        assert rows == [{"x": 1.0}, {"x": None}, {"x": None}, {"x": None}, {"x": None}]
    csv, _ = await encoded([batch], "csv")
    assert csv.decode().splitlines() == ["x", "1", "", "inf", "-inf", ""]


@pytest.mark.anyio
async def test_floats_stay_floats_in_json() -> None:
    body, _ = await encoded([pa.record_batch({"x": [1.0, -2.0, 0.1, 1e300, 5e-324]})], "json")
    assert body == b'[{"x":1.0},{"x":-2.0},{"x":0.1},{"x":1e+300},{"x":5e-324}]'


@pytest.mark.anyio
async def test_text_that_needs_escaping_or_quoting_round_trips() -> None:
    texts = ['say "hi"', "a,b", "line\nbreak", "tab\tand\\slash", "ünï©ødé", "", None, "\x01"]
    batch = pa.record_batch({"name,odd": texts, "n": list(range(len(texts)))})
    body, _ = await encoded([batch], "json")
    assert [row["name,odd"] for row in json.loads(body)] == texts
    csv, _ = await encoded([batch], "csv")
    decoded = pa_csv.read_csv(
        io.BytesIO(csv),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(column_types={"name,odd": pa.string()}, strings_can_be_null=False),
    )
    assert decoded.column_names == ["name,odd", "n"]
    assert decoded.column("name,odd").to_pylist() == [text or "" for text in texts]


@pytest.mark.anyio
async def test_types_without_a_vectorized_spelling_still_encode_as_json() -> None:
    batch = pa.record_batch(
        {
            "day": pa.array([date(2024, 1, 2), None], pa.date32()),
            "amount": pa.array([Decimal("1.50"), Decimal("-2.25")], pa.decimal128(6, 2)),
            "tags": [["a", "b"], []],
            "x": [math.nan, 2.0],
        }
    )
    for fmt in ("json", "ndjson"):
        body, _ = await encoded([batch], fmt)
        rows = json.loads(body) if fmt == "json" else [json.loads(line) for line in body.splitlines()]
        assert rows == [
            {"day": "2024-01-02", "amount": "1.50", "tags": ["a", "b"], "x": None},
            {"day": None, "amount": "-2.25", "tags": [], "x": 2.0},
        ]
    csv, _ = await encoded([batch], "csv")
    assert csv.decode().splitlines()[1] == '2024-01-02,1.50,"[""a"",""b""]",'


@pytest.mark.anyio
async def test_dictionary_columns_are_written_as_their_values() -> None:
    batch = pa.record_batch({"side": pa.array(["long", "short", "long"]).dictionary_encode()})
    for fmt in ("csv", "json", "arrow"):
        body, _ = await encoded([batch], fmt)
        assert b"short" in body


@pytest.mark.anyio
async def test_a_batch_larger_than_a_chunk_is_cut_into_several_chunks() -> None:
    table = frame(CHUNK_ROWS + 10)
    for fmt in ("csv", "json", "ndjson", "arrow"):
        _, chunks = await encoded(table.to_batches(), fmt)
        assert chunks >= 2, fmt
    body, _ = await encoded(table.to_batches(), "json")
    assert len(json.loads(body)) == CHUNK_ROWS + 10


def test_encode_table_builds_the_whole_document_for_small_frames() -> None:
    assert json.loads(encode_table(frame(2), "json", "s")) == [
        {"timestamp": T0, "close": 100.5, "volume": 0, "side": "short"},
        {"timestamp": T0 + 60, "close": 101.5, "volume": 1, "side": "long"},
    ]
    assert encode_table(frame(0), "csv") == b"timestamp,close,volume,side\n"


@pytest.mark.anyio
async def test_an_unknown_format_or_unit_is_a_400() -> None:
    with pytest.raises(InvalidInput):
        await encoded([], "xml")
    with pytest.raises(InvalidInput):
        await encoded([], "csv", "minutes")


cells = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
)
texts = st.one_of(st.none(), st.text(max_size=12))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), cells, texts, st.booleans()),
        min_size=1,
        max_size=25,
    )
)
def test_vectorized_json_rows_decode_to_the_rows_python_would_write(rows: list[tuple[Any, ...]]) -> None:
    batch = pa.record_batch(
        {
            "i": pa.array([row[0] for row in rows], pa.int64()),
            "f": pa.array([row[1] for row in rows], pa.float64()),
            "t": pa.array([row[2] for row in rows], pa.string()),
            "b": pa.array([row[3] for row in rows], pa.bool_()),
        }
    )
    expected = [{"i": i, "f": f if f is not None and math.isfinite(f) else None, "t": t, "b": b} for i, f, t, b in rows]
    assert json.loads(b"[" + rows_json(batch, b",")[:-1] + b"]") == expected
    assert [json.loads(line) for line in rows_json(batch, b"\n").splitlines()] == expected


# ---------------------------------------------------------------- negotiation


@pytest.mark.parametrize(
    ("format_param", "accept", "default", "chosen"),
    [
        ("json", "text/csv", OutputFormat.CSV, OutputFormat.JSON),
        ("ARROW", None, OutputFormat.CSV, OutputFormat.ARROW),
        (None, "application/x-ndjson", OutputFormat.CSV, OutputFormat.NDJSON),
        (None, "application/vnd.apache.arrow.stream", OutputFormat.JSON, OutputFormat.ARROW),
        (None, "text/csv;q=0.5, application/json", OutputFormat.ARROW, OutputFormat.JSON),
        (None, "application/json;q=0.4, text/csv;q=0.9", OutputFormat.ARROW, OutputFormat.CSV),
        (None, "text/html,application/xhtml+xml,*/*;q=0.8", OutputFormat.JSON, OutputFormat.JSON),
        (None, "*/*, text/csv", OutputFormat.JSON, OutputFormat.CSV),
        (None, "image/png", OutputFormat.NDJSON, OutputFormat.NDJSON),
        (None, "application/json;q=0", OutputFormat.CSV, OutputFormat.CSV),
        (None, None, "json", OutputFormat.JSON),
        ("", "text/csv", OutputFormat.JSON, OutputFormat.CSV),
    ],
)
def test_the_format_parameter_wins_over_accept_which_wins_over_the_default(
    format_param: str | None, accept: str | None, default: OutputFormat | str, chosen: OutputFormat
) -> None:
    assert negotiate(format_param, accept, default) is chosen


def test_an_unknown_format_parameter_is_a_400_listing_the_allowed_ones() -> None:
    with pytest.raises(InvalidInput) as caught:
        negotiate("xlsx", "text/csv", OutputFormat.CSV)
    assert caught.value.details["allowed"] == ["csv", "json", "ndjson", "arrow", "parquet"]


def test_every_format_has_its_media_type() -> None:
    assert MEDIA_TYPES == {
        OutputFormat.CSV: "text/csv",  # the HTTP layer adds the charset, once
        OutputFormat.JSON: "application/json",
        OutputFormat.NDJSON: "application/x-ndjson",
        OutputFormat.ARROW: "application/vnd.apache.arrow.stream",
        OutputFormat.PARQUET: "application/vnd.apache.parquet",
    }
