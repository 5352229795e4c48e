"""Valid CSV files land whole, whatever the CSV block size cuts where.

A server parses CSV in blocks of STAGE1_CSV_BLOCK_BYTES (the smallest allowed here, 4 KiB). Files whose
sizes sit one byte either side of a block boundary, and a file whose rows cross ~40 boundaries at ever
different offsets, go in through `stage1 import` (blocking and as a job) and over HTTP as bodies that
arrive in odd-sized, slow chunks (raw body blocking, multipart as a job), into DuckDB and into QuestDB.
Every row must land exactly once with its exact values.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.integration.served_app import questdb_settings, serve, stage1_import

BLOCK = 4096
START = 1_704_067_200
HEADER = "timestamp,open,high,low,close,volume\n"
Row = tuple[int, float, float, float, float, float]


def _row(rng: random.Random, index: int) -> Row:
    # Multiples of 1/64 print and sum exactly in every store, so what landed compares with ==.
    prices = sorted(rng.randrange(1, 10 ** rng.randint(2, 6)) / 64 for _ in range(4))
    low, open_, close, high = prices
    return START + index * 60, open_, high, low, close, float(rng.randrange(10 ** rng.randint(1, 8)))


def _line(row: Row, volume_digits: int = 0) -> str:
    ts, open_, high, low, close, volume = row
    return f"{ts},{open_!r},{high!r},{low!r},{close!r},{int(volume):0{volume_digits}d}\n"


def frame_of_size(size: int, seed: int, *, final_newline: bool = True) -> tuple[bytes, list[Row]]:
    """A valid OHLCV CSV of exactly `size` bytes: random rows, then a last row padded to fit."""
    rng = random.Random(seed)
    text, rows = HEADER, []
    while size - len(text) > 120:
        rows.append(_row(rng, len(rows)))
        text += _line(rows[-1])
    last = (START + len(rows) * 60, 1.5, 2.5, 0.5, 1.25, 7.0)
    room = size - len(text) - len(_line(last)) + 1 + (0 if final_newline else 1)
    rows.append(last)
    text += _line(last, room)[: None if final_newline else -1]
    data = text.encode()
    assert len(data) == size
    return data, rows


def sample_files() -> dict[str, tuple[bytes, list[Row]]]:
    files = {}
    for blocks in (2, 7):
        for delta in (-1, 0, 1):
            files[f"{blocks}x{BLOCK}{delta:+d}"] = frame_of_size(blocks * BLOCK + delta, blocks * 10 + delta)
    files["40_blocks_no_final_newline"] = frame_of_size(40 * BLOCK + 17, 99, final_newline=False)
    return files


FILES = sample_files()
CLI_FILES = ["2x4096-1", "40_blocks_no_final_newline"]


@dataclass
class Server:
    url: str
    store: str
    folder: Path
    created: list[str] = field(default_factory=list)

    def measurement(self) -> str:
        name = f"blk_{uuid.uuid4().hex[:10]}"
        self.created.append(name)
        return name


@pytest.fixture(scope="module", params=["duckdb", "questdb"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp(f"blocks_{request.param}")
    settings = questdb_settings() if request.param == "questdb" else {}
    with serve(folder / "data", csv_block_bytes=BLOCK, **settings) as url:
        served = Server(url, request.param, folder)
        yield served
    if request.param == "questdb":
        with httpx.Client(base_url=settings["questdb_http_url"]) as questdb:
            for name in served.created:
                questdb.get("/exec", params={"query": f"DROP TABLE IF EXISTS {name}"})


def landed(server: Server, measurement: str) -> list[Row]:
    sql = f"SELECT timestamp, open, high, low, close, volume FROM {measurement} ORDER BY timestamp"
    response = httpx.post(f"{server.url}/api/questdb/export", json={"sql": sql, "ts_unit": "s"}, timeout=60)
    assert response.status_code == 200, response.text
    records = list(csv.reader(io.StringIO(response.text)))[1:]
    return [(int(r[0]), *(float(value) for value in r[1:])) for r in records]  # type: ignore[misc]


def checksum(rows: list[Row]) -> str:
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def assert_landed_whole(server: Server, measurement: str, expected: list[Row]) -> None:
    stored = landed(server, measurement)
    assert len(stored) == len(expected)
    assert checksum(stored) == checksum(expected)


def odd_slow_chunks(data: bytes) -> Iterator[bytes]:
    """The body as a slow client sends it: chunk sizes that share no factor with the block size."""
    sizes, at, turn = (1, 7, BLOCK - 1, 333, BLOCK + 1, 2 * BLOCK + 5), 0, 0
    while at < len(data):
        size = sizes[turn % len(sizes)]
        yield data[at : at + size]
        at, turn = at + size, turn + 1
        time.sleep(0.001)


def wait_for_job(client: httpx.Client, poll_url: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(poll_url).json()
        if job["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
            return job
        time.sleep(0.05)
    raise AssertionError("the import job did not finish")


@pytest.mark.parametrize("name", CLI_FILES)
@pytest.mark.parametrize("mode", ["blocking", "async"])
def test_stage1_import_lands_every_row_of_a_file_cut_at_block_boundaries(server: Server, name: str, mode: str) -> None:
    data, rows = FILES[name]
    path = server.folder / f"{name}.csv"
    path.write_bytes(data)
    measurement = server.measurement()
    options = ["--kind", "ohlcv", *(["--async"] if mode == "async" else [])]
    result = stage1_import(server.url, path, measurement, *options)
    assert result.exit_code == 0, result.output
    assert f"{len(rows)} rows" in result.output
    assert_landed_whole(server, measurement, rows)


@pytest.mark.parametrize("name", sorted(FILES))
def test_a_raw_body_in_odd_slow_chunks_lands_every_row(server: Server, name: str) -> None:
    data, rows = FILES[name]
    measurement = server.measurement()
    gzipped = name.startswith("7x")
    response = httpx.post(
        f"{server.url}/api/questdb/import",
        params={"measurement": measurement, "kind": "ohlcv"},
        content=odd_slow_chunks(gzip.compress(data) if gzipped else data),
        headers={"Content-Type": "application/gzip" if gzipped else "text/csv"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.json()["rows_written"] == len(rows)
    assert_landed_whole(server, measurement, rows)


@pytest.mark.parametrize("name", sorted(FILES))
def test_a_multipart_upload_in_odd_slow_chunks_lands_every_row_through_a_job(server: Server, name: str) -> None:
    data, rows = FILES[name]
    measurement = server.measurement()
    boundary = "stage1-boundary-7c1f"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    with httpx.Client(base_url=server.url, timeout=60) as client:
        response = client.post(
            "/api/questdb/import/async",
            params={"measurement": measurement, "kind": "ohlcv"},
            content=odd_slow_chunks(body),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        assert response.status_code == 202, response.text
        job = wait_for_job(client, response.json()["poll_url"])
    assert job["status"] == "COMPLETED", job
    assert job["result"]["rows_written"] == len(rows)
    assert_landed_whole(server, measurement, rows)
