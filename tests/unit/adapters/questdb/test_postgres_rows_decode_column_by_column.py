"""Blocks of Postgres DataRow messages decode into the same Arrow columns a value-by-value reading gives:
binary numbers, booleans, times and dates, text, nulls anywhere, rows of equal and of unequal sizes, and
a buffer cut anywhere (only whole rows are taken)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.questdb.pgwire_rows import PG_EPOCH_US, decode, result_formats, scan_rows

PG_EPOCH = datetime(2000, 1, 1)


@dataclass(frozen=True)
class Field:
    name: str
    type_oid: int


# type oid -> (hypothesis values, binary encoder, value as Arrow gives it back)
KINDS = {
    20: (st.integers(-(2**63), 2**63 - 1), lambda v: struct.pack("!q", v), lambda v: v),
    23: (st.integers(-(2**31), 2**31 - 1), lambda v: struct.pack("!i", v), lambda v: v),
    21: (st.integers(-(2**15), 2**15 - 1), lambda v: struct.pack("!h", v), lambda v: v),
    701: (st.floats(allow_nan=False), lambda v: struct.pack("!d", v), lambda v: v),
    700: (st.floats(width=32, allow_nan=False), lambda v: struct.pack("!f", v), lambda v: v),
    16: (st.booleans(), lambda v: b"\1" if v else b"\0", lambda v: v),
    1114: (st.integers(-(10**15), 10**16), lambda v: struct.pack("!q", v),
           lambda v: PG_EPOCH + timedelta(microseconds=v)),
    1082: (st.integers(-700_000, 700_000), lambda v: struct.pack("!i", v), lambda v: date(2000, 1, 1) + timedelta(v)),
    1043: (st.text(), lambda v: v.encode(), lambda v: v),
}


def data_row(values: list[bytes | None]) -> bytes:
    body = struct.pack("!H", len(values)) + b"".join(
        struct.pack("!i", -1) if value is None else struct.pack("!i", len(value)) + value for value in values
    )
    return b"D" + struct.pack("!I", len(body) + 4) + body


@st.composite
def results(draw: st.DrawFn) -> tuple[list[Field], list[list[object]], bytes]:
    oids = draw(st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=5))
    nullable = draw(st.booleans())
    rows = draw(st.integers(1, 60))
    table: list[list[object]] = []
    wire = b""
    for _ in range(rows):
        row: list[object] = []
        encoded: list[bytes | None] = []
        for oid in oids:
            values, encode, _ = KINDS[oid]
            value = draw(st.none() | values) if nullable else draw(values)
            row.append(value)
            encoded.append(None if value is None else encode(value))
        table.append(row)
        wire += data_row(encoded)
    return [Field(f"c{i}", oid) for i, oid in enumerate(oids)], table, wire


def expected(fields: list[Field], table: list[list[object]]) -> list[list[object]]:
    return [
        [None if value is None else KINDS[field.type_oid][2](value) for field, value in zip(fields, row, strict=True)]
        for row in table
    ]


@settings(max_examples=50, deadline=None)
@given(results())
def test_every_block_decodes_to_the_values_read_one_by_one(result: tuple[list[Field], list[list[object]], bytes]) -> None:
    fields, table, wire = result
    assert result_formats(fields) == [0 if field.type_oid == 1043 else 1 for field in fields]

    starts, end = scan_rows(bytearray(wire))
    batch = decode(wire[:end], starts, [field.name for field in fields], fields)

    assert end == len(wire) and len(starts) == len(table)
    assert [list(row.values()) for row in batch.to_pylist()] == expected(fields, table)


@settings(max_examples=30, deadline=None)
@given(results(), st.data())
def test_a_buffer_cut_anywhere_yields_only_its_whole_rows(
    result: tuple[list[Field], list[list[object]], bytes], data: st.DataObject
) -> None:
    fields, table, wire = result
    cut = data.draw(st.integers(0, len(wire)))

    starts, end = scan_rows(bytearray(wire[:cut]))
    batch = decode(wire[:end], starts, [field.name for field in fields], fields)

    assert end <= cut
    assert [list(row.values()) for row in batch.to_pylist()] == expected(fields, table)[: len(starts)]


def test_many_equal_rows_without_nulls_decode_as_one_grid() -> None:
    fields = [Field("timestamp", 1114), Field("close", 701), Field("volume", 20)]
    wire = b"".join(
        data_row([struct.pack("!q", i * 60_000_000), struct.pack("!d", i + 0.5), struct.pack("!q", i)])
        for i in range(5_000)
    )

    starts, end = scan_rows(bytearray(wire))
    batch = decode(wire, starts, ["timestamp", "close", "volume"], fields)

    assert end == len(wire)
    assert batch.schema.types == [pa.timestamp("us"), pa.float64(), pa.int64()]
    assert batch.column(0)[1].value == PG_EPOCH_US + 60_000_000
    assert batch.column(1).to_pylist() == [i + 0.5 for i in range(5_000)]
