"""Parquet out, chunk by chunk, and `ts_unit=timestamp`: real time types where the format has them."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Sequence

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.ipc as pa_ipc
import pyarrow.parquet as pq
import pytest

from adapters.frames import encode
from domain.errors import InvalidInput
from domain.values import output_unit

pytestmark = pytest.mark.anyio
SECOND = 10**9
T0 = 1_704_067_200


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def batch(start: int, rows: int) -> pa.RecordBatch:
    return pa.record_batch(
        {
            "timestamp": pa.array([(T0 + 60 * i) * SECOND for i in range(start, start + rows)], pa.timestamp("ns")),
            "close": [100.5 + i for i in range(start, start + rows)],
        }
    )


async def chunks_of(batches: Sequence[pa.RecordBatch], fmt: str, ts_unit: str | None, **kw: object) -> list[bytes]:
    async def stream() -> AsyncIterator[pa.RecordBatch]:
        for piece in batches:
            yield piece

    return [chunk async for chunk in encode(stream(), fmt, ts_unit, **kw)]  # type: ignore[arg-type]


async def test_parquet_comes_out_a_row_group_per_batch_with_utc_timestamps_by_default() -> None:
    chunks = await chunks_of([batch(0, 3), batch(3, 4)], "parquet", None)
    assert len(chunks) >= 3  # bytes leave as each batch is written, not at the end
    table = pq.read_table(io.BytesIO(b"".join(chunks)))
    assert pq.ParquetFile(io.BytesIO(b"".join(chunks))).metadata.num_row_groups == 2
    assert table.schema.field("timestamp").type == pa.timestamp("ns", tz="UTC")
    assert table.column("close").to_pylist() == [100.5 + i for i in range(7)]
    assert table.column("timestamp").cast(pa.int64()).to_pylist() == [(T0 + 60 * i) * SECOND for i in range(7)]


async def test_parquet_keeps_epoch_numbers_when_a_unit_is_asked_for() -> None:
    table = pq.read_table(io.BytesIO(b"".join(await chunks_of([batch(0, 2)], "parquet", "ms"))))
    assert table.schema.field("timestamp").type == pa.int64()
    assert table.column("timestamp").to_pylist() == [T0 * 1000, (T0 + 60) * 1000]


async def test_an_empty_parquet_stream_still_carries_its_columns() -> None:
    schema = batch(0, 1).schema
    table = pq.read_table(io.BytesIO(b"".join(await chunks_of([], "parquet", None, schema=schema))))
    assert table.num_rows == 0 and table.column_names == ["timestamp", "close"]


async def test_arrow_gives_a_utc_timestamp_type_for_ts_unit_timestamp_and_epoch_ms_by_default() -> None:
    typed = pa_ipc.open_stream(b"".join(await chunks_of([batch(0, 2)], "arrow", "timestamp"))).read_all()
    assert typed.schema.field("timestamp").type == pa.timestamp("ns", tz="UTC")
    plain = pa_ipc.open_stream(b"".join(await chunks_of([batch(0, 2)], "arrow", None))).read_all()
    assert plain.column("timestamp").to_pylist() == [T0 * 1000, (T0 + 60) * 1000]


async def test_text_formats_write_ts_unit_timestamp_as_iso() -> None:
    text = b"".join(await chunks_of([batch(0, 2)], "csv", "timestamp"))
    table = pa_csv.read_csv(io.BytesIO(text), convert_options=pa_csv.ConvertOptions(column_types={"timestamp": pa.string()}))
    assert table.column("timestamp").to_pylist() == ["2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z"]
    ndjson = b"".join(await chunks_of([batch(0, 1)], "ndjson", "timestamp"))
    assert b'"timestamp":"2024-01-01T00:00:00Z"' in ndjson


@pytest.mark.parametrize(
    ("asked", "fmt", "chosen"),
    [
        (None, "csv", "ms"),
        (None, "arrow", "ms"),
        (None, "parquet", "timestamp"),
        ("timestamp", "parquet", "timestamp"),
        ("timestamp", "arrow", "timestamp"),
        ("timestamp", "json", "iso"),
        ("timestamp", "csv", "iso"),
        ("s", "parquet", "s"),
    ],
)
def test_each_format_resolves_the_time_unit_as_the_contract_says(asked: str | None, fmt: str, chosen: str) -> None:
    assert output_unit(asked, fmt) == chosen


def test_an_unknown_time_unit_is_a_400_naming_the_allowed_ones() -> None:
    with pytest.raises(InvalidInput) as caught:
        output_unit("hours", "csv")
    assert "timestamp" in str(caught.value) and caught.value.details == {"field": "ts_unit"}
