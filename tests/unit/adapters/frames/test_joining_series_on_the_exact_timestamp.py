"""The timestamp join gives each bar exactly the row at its time, however the streams are cut into batches."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.frames.timestamp_join import Beside, join_on_timestamp

times = st.lists(st.integers(0, 200), unique=True, max_size=40).map(sorted)


async def batches(stamps: list[int], values: list[float], cuts: list[int]) -> AsyncIterator[pa.RecordBatch]:
    table = pa.table({"timestamp": pa.array(stamps, pa.timestamp("s")), "v": values})
    start = 0
    for cut in [*sorted({min(cut, len(stamps)) for cut in cuts}), len(stamps)]:
        if cut > start:
            yield table.slice(start, cut - start).to_batches()[0]
            start = cut


@settings(max_examples=60, deadline=None)
@given(bars=times, other=times, bar_cuts=st.lists(st.integers(0, 40)), other_cuts=st.lists(st.integers(0, 40)))
def test_each_bar_gets_the_row_at_exactly_its_time_or_null(
    bars: list[int], other: list[int], bar_cuts: list[int], other_cuts: list[int]
) -> None:
    async def joined() -> pa.Table | None:
        out = [
            batch
            async for batch in join_on_timestamp(
                batches(bars, [float(t) for t in bars], bar_cuts),
                [Beside(batches(other, [t + 0.5 for t in other], other_cuts), [("v", "DOUBLE")], "other_")],
            )
        ]
        return pa.Table.from_batches(out) if out else None

    table = anyio.run(joined)
    if not bars:
        assert table is None
        return
    assert table is not None
    assert table.column_names == ["timestamp", "v", "other_v"]
    assert table.column("v").to_pylist() == [float(t) for t in bars]
    present = set(other)
    assert table.column("other_v").to_pylist() == [t + 0.5 if t in present else None for t in bars]
