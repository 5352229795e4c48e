"""A stream is encoded one batch behind its reading: the next batch is asked for while the one before is
encoded, the chunks still come out in order, and a store error met on the way is that error, not a group."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pyarrow as pa
import pytest

from adapters.frames import encode
from domain.errors import StoreTimeout

pytestmark = pytest.mark.anyio

ROWS = 5_000  # above the size encoded in a worker thread


def batch(start: int) -> pa.RecordBatch:
    return pa.record_batch({"x": pa.array(range(start, start + ROWS), pa.int64())})


async def test_the_next_batch_is_read_before_the_one_before_is_written_out() -> None:
    events: list[str] = []

    async def batches() -> AsyncIterator[pa.RecordBatch]:
        for number in range(3):
            events.append(f"read {number}")
            yield batch(number * ROWS)

    chunks = []
    async for chunk in encode(batches(), "csv"):
        events.append(f"out {len(chunks)}")
        chunks.append(chunk)

    assert events[:3] == ["read 0", "read 1", "out 0"]
    assert b"".join(chunks).decode().split("\n")[1 : 3 * ROWS + 1] == [str(n) for n in range(3 * ROWS)]


async def test_a_store_error_while_a_batch_is_encoded_comes_out_as_itself() -> None:
    async def batches() -> AsyncIterator[pa.RecordBatch]:
        yield batch(0)
        raise StoreTimeout("the QuestDB query ran past its timeout of 1 s", {"timeout": 1})

    with pytest.raises(StoreTimeout):
        _ = [chunk async for chunk in encode(batches(), "arrow")]
