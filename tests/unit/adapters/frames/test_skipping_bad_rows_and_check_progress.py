"""`on_error=skip` leaves out exactly the rows that do not fit, naming each by data row (and file line for text);
the check pass reports the rows it has checked as it goes."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.frames.checked import CheckedFrame
from application.series_ports import UploadReadOptions
from domain.frames import FrameKind, OnError

pytestmark = pytest.mark.anyio

T0 = 1_704_067_200
HEADER = "timestamp,open,high,low,close,volume"
BROKEN = {  # how a row can be bad, and the column its rejection names (None: the row's width)
    "cell": ("{t},1,2,0.5,abc,10", "close"),
    "width": ("{t},1,2", None),
    "time": ("not-a-time,1,2,0.5,1.5,10", "timestamp"),
    "blank_time": (",1,2,0.5,1.5,10", "timestamp"),
}


async def read_all(frame: CheckedFrame) -> pa.Table:
    batches = [batch async for batch in frame]
    return pa.Table.from_batches(batches)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.integers(1, 400),
    broken=st.dictionaries(st.integers(0, 399), st.sampled_from(sorted(BROKEN)), max_size=30),
    batch_rows=st.sampled_from([7, 64, 1000]),
)
async def test_exactly_the_bad_rows_are_left_out_and_each_is_named_by_row_and_line(
    tmp_path: Path, rows: int, broken: dict[int, str], batch_rows: int
) -> None:
    bad = {index: how for index, how in broken.items() if index < rows}
    lines = [HEADER]
    for i in range(rows):
        template = BROKEN[bad[i]][0] if i in bad else "{t},1,2,0.5,1.5,10"
        lines.append(template.format(t=T0 + i * 60))
    path = tmp_path / f"bars_{rows}_{batch_rows}_{len(bad)}.csv"
    path.write_text("\n".join(lines) + "\n")

    frame = CheckedFrame(path, FrameKind.OHLCV, UploadReadOptions(on_error=OnError.SKIP), batch_rows=batch_rows)
    if len(bad) == rows:
        assert [batch async for batch in frame] == []
    else:
        table = await read_all(frame)
        kept = [i for i in range(rows) if i not in bad]
        assert table.column("volume").to_pylist() == [10.0] * len(kept)
        assert [t // 10**9 for t in table.column("timestamp").cast(pa.int64()).to_pylist()] == [
            T0 + i * 60 for i in kept
        ]
    assert frame.rejected_rows == len(bad)
    expected = [(i + 1, i + 2, BROKEN[bad[i]][1]) for i in sorted(bad)]
    assert [(r["row"], r["line"], r["column"]) for r in frame.rejected] == expected


async def test_blank_lines_count_in_line_but_not_in_row(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text(
        f"{HEADER}\n{T0},1,2,0.5,1.5,10\n\n\n{T0 + 60},1,2\n{T0 + 120},1,2,0.5,x,10\n{T0 + 180},1,2,0.5,1,10\n"
    )
    frame = CheckedFrame(path, FrameKind.OHLCV, UploadReadOptions(on_error=OnError.SKIP))
    assert (await read_all(frame)).num_rows == 2
    assert [(r["row"], r["line"]) for r in frame.rejected] == [(2, 5), (3, 6)]


async def test_a_binary_frame_names_the_rejected_row_and_no_line(tmp_path: Path) -> None:
    path = tmp_path / "trades.arrow"
    table = pa.table({
        "bar_timestamp": [T0, T0 + 60, T0 + 120],
        "side": ["long", "sideways", "short"],
        "entry_price": [1.0, 2.0, 3.0],
        "exit_price": [1.0, 2.0, 3.0],
        "pnl": [0.0, 0.0, 0.0],
    })  # fmt: skip
    with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    frame = CheckedFrame(path, FrameKind.TRADES, UploadReadOptions(on_error=OnError.SKIP))
    kept = await read_all(frame)
    assert kept.column("side").to_pylist() == ["long", "short"]
    assert frame.rejected == [{"row": 2, "line": None, "column": "side", "value": "sideways",
                               "reason": "side must be long or short, got 'sideways'"}]  # fmt: skip


async def test_the_check_pass_reports_rows_checked_before_the_first_batch_comes_out(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_text(HEADER + "\n" + "".join(f"{T0 + i * 60},1,2,0.5,1.5,10\n" for i in range(2_500)))
    seen: list[int] = []

    async def checked(rows: int) -> None:
        seen.append(rows)

    frame = CheckedFrame(path, FrameKind.OHLCV, UploadReadOptions(progress=checked), batch_rows=1_000)
    await anext(frame)
    assert seen == [1_000, 2_000, 2_500]
    await frame.aclose()
