"""An upload is checked whole before its first batch comes out, and its checked copy never outlives the read."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from adapters.frames.checked import CheckedFrame
from adapters.frames.readers import open_frames
from domain.errors import InvalidInput
from domain.frames import FrameKind

pytestmark = pytest.mark.anyio

T0 = 1_704_067_200
HEADER = "timestamp,open,high,low,close,volume"


def write_bars(path: Path, rows: int, bad_row: int | None = None) -> Path:
    body = "".join(f"{T0 + i * 60},1,2,0.5,{'abc' if i + 1 == bad_row else 1.5},10\n" for i in range(rows))
    path.write_text(HEADER + "\n" + body)
    return path


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".checked.arrow"))


async def test_a_bad_row_at_90_percent_fails_before_the_first_batch_comes_out(tmp_path: Path) -> None:
    frame = CheckedFrame(write_bars(tmp_path / "bars.csv", 10_000, bad_row=9_001), FrameKind.OHLCV, batch_rows=500)
    given: list[object] = []
    with pytest.raises(InvalidInput) as caught:
        async for batch in frame:
            given.append(batch)
    assert given == []
    assert caught.value.details == {"row": 9_001, "line": 9_002, "column": "close", "value": "abc"}
    assert frame.rows is None
    assert leftovers(tmp_path) == []


async def test_the_row_count_is_known_with_the_first_batch_and_the_checked_copy_goes_at_the_end(
    tmp_path: Path,
) -> None:
    frame = CheckedFrame(write_bars(tmp_path / "bars.csv", 2_500), FrameKind.OHLCV, batch_rows=1_000)
    first = await anext(frame)
    assert (first.num_rows, frame.rows) == (1_000, 2_500)
    assert len(leftovers(tmp_path)) == 1
    rest = [batch.num_rows async for batch in frame]
    assert rest == [1_000, 500]
    assert leftovers(tmp_path) == []


async def test_letting_go_midway_deletes_the_checked_copy(tmp_path: Path) -> None:
    frame = CheckedFrame(write_bars(tmp_path / "bars.csv", 2_500), FrameKind.OHLCV, batch_rows=1_000)
    await anext(frame)
    await frame.aclose()
    assert leftovers(tmp_path) == []


async def test_a_checked_frame_holds_exactly_what_the_reader_gives(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv.gz"
    path.write_bytes(gzip.compress(write_bars(tmp_path / "plain.csv", 3_000).read_bytes()))
    with open_frames(path, FrameKind.OHLCV) as reader:
        expected = [batch for batch in reader]
    checked = [batch async for batch in CheckedFrame(path, FrameKind.OHLCV)]
    assert [b.to_pydict() for b in checked] == [b.to_pydict() for b in expected]


def test_a_header_wider_than_the_column_cap_is_a_400_before_any_parsing() -> None:
    header = ",".join(["timestamp", *(f"c{i}" for i in range(2_000))])
    source = (header + "\n" + ",".join(["1"] * 2_001) + "\n").encode()
    with pytest.raises(InvalidInput) as caught:
        open_frames(source, FrameKind.INDICATORS, max_columns=2_000)
    assert caught.value.details == {"line": 1, "columns": 2_001, "max_columns": 2_000}
    with open_frames(source, FrameKind.INDICATORS, max_columns=2_001) as reader:
        assert len(reader.schema.names) == 2_001


def test_commas_inside_quoted_header_names_do_not_count_as_columns() -> None:
    source = b'timestamp,"rsi, 14","a ""quoted"", name"\n1,2,3\n'
    with open_frames(source, FrameKind.INDICATORS, max_columns=3) as reader:
        assert reader.schema.names == ["timestamp", "rsi, 14", 'a "quoted", name']
