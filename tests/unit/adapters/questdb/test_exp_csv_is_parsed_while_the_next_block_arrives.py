"""QuestDB's /exp CSV becomes the same Arrow rows however the body is cut into chunks and blocks (times, nulls,
symbols with escapes, booleans); the next block is received while one is parsed; and an error met while
receiving comes out as itself, not as a task group's wrapper."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.questdb.csv_reader import CsvBatches
from domain.errors import StoreTimeout

TYPES = {"timestamp": "TIMESTAMP", "close": "DOUBLE", "symbol": "SYMBOL", "up": "BOOLEAN"}

rows = st.lists(
    st.tuples(
        st.integers(0, 2**52),
        st.none() | st.floats(-1e9, 1e9, allow_nan=False),
        st.none() | st.text("ab,\"\n\\é", max_size=6),
        st.none() | st.booleans(),
    ),
    max_size=40,
)


def exp_csv(records: list[tuple[int, float | None, str | None, bool | None]]) -> bytes:
    """The body /exp writes: a quoted header, CRLF records, text quoted with JSON's escapes."""

    def text(value: str) -> str:
        escaped = value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '""')
        return f'"{escaped}"'

    lines = ['"timestamp","close","symbol","up"']
    for micros, close, symbol, up in records:
        lines.append(
            ",".join(
                [
                    str(micros),
                    "" if close is None else repr(close),
                    "" if symbol is None else text(symbol),
                    "" if up is None else str(up).lower(),
                ]
            )
        )
    return ("\r\n".join(lines) + "\r\n").encode()


async def chunked(body: bytes, cuts: list[int]) -> AsyncIterator[bytes]:
    start = 0
    for cut in sorted({c % (len(body) + 1) for c in cuts}):
        yield body[start:cut]
        start = cut
    yield body[start:]


def parse(body: bytes, cuts: list[int], block_bytes: int) -> pa.Table:
    async def run() -> list[pa.RecordBatch]:
        return [batch async for batch in CsvBatches(TYPES, block_bytes).parse(chunked(body, cuts))]

    return pa.Table.from_batches(asyncio.run(run()))


@settings(max_examples=60, deadline=None)
@given(rows, st.lists(st.integers(0, 10_000), max_size=8), st.integers(1, 300))
def test_rows_come_out_the_same_whatever_the_chunks_and_blocks(
    records: list[tuple[int, float | None, str | None, bool | None]], cuts: list[int], block_bytes: int
) -> None:
    table = parse(exp_csv(records), cuts, block_bytes)

    assert table.schema.field("timestamp").type == pa.timestamp("ns")
    assert table.column("timestamp").to_pylist() == [
        pa.scalar(micros * 1000, pa.timestamp("ns")).as_py() for micros, *_ in records
    ]
    assert table.column("close").to_pylist() == [close for _, close, _, _ in records]
    assert table.column("symbol").to_pylist() == [symbol for _, _, symbol, _ in records]
    assert table.column("up").to_pylist() == [up for *_, up in records]


def test_the_next_block_is_received_while_one_is_parsed() -> None:
    events: list[str] = []
    body = exp_csv([(n, float(n), "s", True) for n in range(200)])

    async def chunks() -> AsyncIterator[bytes]:
        for number, start in enumerate(range(0, len(body), 1000)):
            events.append(f"chunk {number}")
            yield body[start : start + 1000]

    async def run() -> None:
        async for _ in CsvBatches(TYPES, block_bytes=1000).parse(chunks()):
            events.append("batch")

    asyncio.run(run())

    # The first block is complete after the second chunk; its batch goes out only once the third is in.
    assert events.index("batch") > events.index("chunk 2")
    assert events.count("batch") >= 3


def test_a_receiving_error_while_a_block_is_parsed_comes_out_as_itself() -> None:
    body = exp_csv([(n, 1.0, "s", False) for n in range(100)])

    async def chunks() -> AsyncIterator[bytes]:
        yield body
        raise StoreTimeout("the QuestDB query ran past its timeout of 1 s", {"timeout": 1})

    async def run() -> None:
        async for _ in CsvBatches(TYPES, block_bytes=100).parse(chunks()):
            pass

    with pytest.raises(StoreTimeout):
        asyncio.run(run())


def test_an_empty_body_gives_one_empty_batch_with_the_columns() -> None:
    table = parse(b'"timestamp","close","symbol","up"\r\n', [], 100)

    assert table.num_rows == 0
    assert table.schema.names == list(TYPES)
