"""A streamed upload hands out its batches as they pass their checks, parsed ahead in a thread of its own: the
same batches as the whole check, a bad row fails the stream where it is (with its row and line), skipped rows
are reported at the end, no checked copy is made, and letting go midway stops the parser."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from adapters.frames.checked import CheckedFrame
from application.series_ports import UploadReadOptions
from domain.errors import InvalidInput
from domain.frames import FrameKind, OnError

pytestmark = pytest.mark.anyio

T0 = 1_704_067_200
HEADER = "timestamp,open,high,low,close,volume"


def write_bars(path: Path, rows: int, bad_rows: tuple[int, ...] = ()) -> Path:
    body = "".join(f"{T0 + i * 60},1,2,0.5,{'abc' if i + 1 in bad_rows else 1.5},10\n" for i in range(rows))
    path.write_text(HEADER + "\n" + body)
    return path


def files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def read_ahead_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "stage1-read-ahead"]


async def test_streamed_batches_are_the_batches_of_the_whole_check_and_the_count_comes_at_the_end(
    tmp_path: Path,
) -> None:
    path = write_bars(tmp_path / "bars.csv", 2_500)
    whole = [batch async for batch in CheckedFrame(path, FrameKind.OHLCV, batch_rows=1_000)]
    streamed = CheckedFrame(path, FrameKind.OHLCV, UploadReadOptions(streamed=True), batch_rows=1_000)

    first = await anext(streamed)
    assert streamed.rows is None
    rest = [batch async for batch in streamed]

    assert [b.to_pydict() for b in [first, *rest]] == [b.to_pydict() for b in whole]
    assert streamed.rows == 2_500
    assert files(tmp_path) == ["bars.csv"]  # no checked copy
    assert read_ahead_threads() == []


async def test_a_bad_row_at_90_percent_fails_the_stream_there_with_its_row_and_line(tmp_path: Path) -> None:
    path = write_bars(tmp_path / "bars.csv", 10_000, bad_rows=(9_001,))
    # Small CSV blocks: Arrow fails the whole block a bad cell is in, the blocks before it come out.
    frame = CheckedFrame(path, FrameKind.OHLCV, UploadReadOptions(streamed=True), batch_rows=500, block_size=4096)
    given = 0
    with pytest.raises(InvalidInput) as caught:
        async for batch in frame:
            given += batch.num_rows
    assert 8_000 < given <= 9_000
    assert caught.value.details == {"row": 9_001, "line": 9_002, "column": "close", "value": "abc"}
    assert frame.rows is None
    assert read_ahead_threads() == []


async def test_skipped_rows_are_counted_and_reported_once_the_stream_ended(tmp_path: Path) -> None:
    path = write_bars(tmp_path / "bars.csv", 3_000, bad_rows=(10, 2_999))
    frame = CheckedFrame(path, FrameKind.OHLCV, UploadReadOptions(on_error=OnError.SKIP, streamed=True), batch_rows=1_000)
    rows = sum([batch.num_rows async for batch in frame])
    assert (rows, frame.rows, frame.rejected_rows) == (2_998, 2_998, 2)
    assert [(r["row"], r["line"], r["column"]) for r in frame.rejected] == [(10, 11, "close"), (2_999, 3_000, "close")]


async def test_letting_go_midway_stops_the_parser_before_the_end_of_the_upload(tmp_path: Path) -> None:
    frame = CheckedFrame(write_bars(tmp_path / "bars.csv", 50_000), FrameKind.OHLCV, UploadReadOptions(streamed=True), batch_rows=100)
    await anext(frame)
    await frame.aclose()
    assert read_ahead_threads() == []
    assert frame.rows is None
