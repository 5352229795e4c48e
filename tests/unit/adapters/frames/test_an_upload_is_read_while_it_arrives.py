"""An upload registered as arriving is read while it is written: its reader sees only acknowledged bytes,
waits for the rest, and ends with the body. Whatever sizes the body arrives in, against a small CSV block,
the reader gives exactly the rows of the finished file; a body that fails midway fails its reader with the
body's own error."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.frames.arriving import register, release
from adapters.frames.checked import CheckedFrame
from application.series_ports import UploadReadOptions
from domain.frames import FrameKind

pytestmark = pytest.mark.anyio

T0 = 1_704_067_200
HEADER = "timestamp,open,high,low,close,volume\n"
BLOCK = 4096


def bars(rows: int) -> bytes:
    return (HEADER + "".join(f"{T0 + i * 60},1.{i % 97},2,0.5,1.5,{i}\n" for i in range(rows))).encode()


class TooLarge(Exception):
    pass


def arrive(path: Path, data: bytes, pieces: list[int], fail: bool = False) -> threading.Thread:
    """Writes `data` to `path` in pieces of the given sizes (cycled), acknowledging each once it is written."""
    arrival = register(path)
    handle = path.open("wb")

    def write() -> None:
        at, turn = 0, 0
        with handle:
            while at < len(data):
                if fail and at > len(data) // 2:
                    arrival.finish(TooLarge("the upload is larger than the limit"))
                    return
                piece = data[at : at + pieces[turn % len(pieces)]]
                handle.write(piece)
                handle.flush()
                arrival.grew(len(piece))
                at, turn = at + len(piece), turn + 1
                time.sleep(0.0005)
        arrival.finish()

    thread = threading.Thread(target=write)
    thread.start()
    return thread


async def read_rows(path: Path) -> list[dict[str, list[object]]]:
    frame = CheckedFrame(path, FrameKind.OHLCV, UploadReadOptions(streamed=True), batch_rows=300, block_size=BLOCK)
    return [batch.to_pydict() async for batch in frame]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(st.integers(min_value=700, max_value=3 * BLOCK), min_size=1, max_size=5))
async def test_an_arriving_upload_reads_exactly_as_the_finished_file(tmp_path: Path, pieces: list[int]) -> None:
    data = bars(2_000)
    finished = tmp_path / "finished.csv"
    finished.write_bytes(data)
    path = tmp_path / f"arriving-{'-'.join(map(str, pieces))}.csv"
    writer = arrive(path, data, pieces)
    try:
        assert await read_rows(path) == await read_rows(finished)
    finally:
        writer.join()
        release(path)


async def test_a_body_that_fails_midway_fails_its_reader_with_the_same_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.csv"
    writer = arrive(path, bars(2_000), [1_000], fail=True)
    try:
        with pytest.raises(TooLarge):
            await read_rows(path)
    finally:
        writer.join()
        release(path)


async def test_a_released_upload_that_never_completed_fails_a_waiting_reader(tmp_path: Path) -> None:
    path = tmp_path / "abandoned.csv"
    path.write_bytes(HEADER.encode())
    arrival = register(path)
    arrival.grew(len(HEADER))
    threading.Timer(0.2, release, [path]).start()
    with pytest.raises(ConnectionAbortedError):
        await read_rows(path)
