"""Block-boundary sweep: valid CSV files whose sizes sit on every CSV block boundary up to a size, imported
through a real server, each checked row for row.

    python benchmarks/block_boundary_sweep.py [--max-mib 64] [--block-bytes 8388608] [--store duckdb|questdb]

For every k with k * block <= max, files of k * block - 1, k * block and k * block + 1 bytes (OHLCV rows of
varying length, so rows cross the boundaries at ever different offsets) go in blocking and as a job, over
HTTP as a raw body sent in odd-sized chunks and through `stage1 import`. After each import the rows are
exported back and compared with what was sent: count and a SHA-256 over every value. The server runs in
this process (uvicorn in a thread on `create_app`) with STAGE1_CSV_BLOCK_BYTES = --block-bytes, on an
embedded data folder (DuckDB) or on the QuestDB of `.testenv/env.sh` (--store questdb; its tables are
dropped at the end). Prints one line per import and exits 1 on the first mismatch.

The CI test (tests/integration/test_import_block_boundaries.py) runs the same idea at a 4 KiB block; this
is the full-size version for the default block (about 1 GB of CSV at 64 MiB: minutes, not for CI).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import logging
import os
import random
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from entrypoints.cli import main as cli  # noqa: E402
from entrypoints.http.app import create_app  # noqa: E402
from entrypoints.settings import Settings  # noqa: E402

START = 1_704_067_200
HEADER = b"timestamp,open,high,low,close,volume\n"


def sized_csv(path: Path, size: int, seed: int) -> tuple[int, str]:
    """Writes a valid OHLCV CSV of exactly `size` bytes; answers its row count and the digest of its rows."""
    rng = random.Random(seed)
    digest = hashlib.sha256()
    rows = 0
    written = len(HEADER)
    with path.open("wb") as out:
        out.write(HEADER)
        pending: list[bytes] = []
        while size - written > 120:
            line, values = _line(rng, rows)
            pending.append(line)
            digest.update(repr(values).encode())
            written += len(line)
            rows += 1
            if len(pending) >= 10_000:
                out.write(b"".join(pending))
                pending.clear()
        out.write(b"".join(pending))
        ts = START + rows * 60
        stem = f"{ts},1.5,2.5,0.5,1.25,".encode()
        out.write(stem + b"7".rjust(size - written - len(stem) - 1, b"0") + b"\n")
        digest.update(repr((ts, 1.5, 2.5, 0.5, 1.25, 7.0)).encode())
    assert path.stat().st_size == size
    return rows + 1, digest.hexdigest()


def _line(rng: random.Random, index: int) -> tuple[bytes, tuple[Any, ...]]:
    low, open_, close, high = sorted(rng.randrange(1, 10 ** rng.randint(2, 6)) / 64 for _ in range(4))
    volume = rng.randrange(10 ** rng.randint(1, 8))
    values = (START + index * 60, open_, high, low, close, float(volume))
    return f"{values[0]},{open_!r},{high!r},{low!r},{close!r},{volume}\n".encode(), values


def landed_digest(url: str, measurement: str) -> tuple[int, str]:
    sql = f"SELECT timestamp, open, high, low, close, volume FROM {measurement} ORDER BY timestamp"
    digest = hashlib.sha256()
    rows = 0
    with httpx.stream("POST", f"{url}/api/questdb/export", json={"sql": sql, "ts_unit": "s"}, timeout=600) as answer:
        answer.raise_for_status()
        reader = csv.reader(io.TextIOWrapper(_ByteStream(answer.iter_bytes()), encoding="utf-8"))
        next(reader)
        for record in reader:
            digest.update(repr((int(record[0]), *(float(value) for value in record[1:]))).encode())
            rows += 1
    return rows, digest.hexdigest()


class _ByteStream(io.RawIOBase):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._rest = chunks, b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._rest:
            self._rest = next(self._chunks, b"")
            if not self._rest:
                return 0
        size = min(len(buffer), len(self._rest))
        buffer[:size], self._rest = self._rest[:size], self._rest[size:]
        return size


def odd_chunks(path: Path) -> Iterator[bytes]:
    sizes, turn = (1, 7, 65_521, 333, 1_048_573), 0
    with path.open("rb") as source:
        while chunk := source.read(sizes[turn % len(sizes)]):
            yield chunk
            turn += 1


def import_http(url: str, path: Path, measurement: str, queued: bool) -> None:
    params = {"measurement": measurement, "kind": "ohlcv"}
    with httpx.Client(base_url=url, timeout=600) as client:
        route = "/api/questdb/import/async" if queued else "/api/questdb/import"
        answer = client.post(route, params=params, content=odd_chunks(path), headers={"Content-Type": "text/csv"})
        if answer.status_code >= 400:
            raise SystemExit(f"{route}: {answer.status_code} {answer.text}")
        if queued:
            poll = answer.json()["poll_url"]
            while (job := client.get(poll).json())["status"] not in ("COMPLETED", "FAILED", "CANCELLED"):
                time.sleep(0.1)
            if job["status"] != "COMPLETED":
                raise SystemExit(f"job {job['status']}: {job.get('error')}")


def import_cli(url: str, path: Path, measurement: str, queued: bool) -> None:
    args = ["import", str(path), "--measurement", measurement, "--kind", "ohlcv", "--url", url]
    result = CliRunner().invoke(cli, [*args, *(["--async"] if queued else [])])
    if result.exit_code != 0:
        raise SystemExit(f"stage1 import: {result.output}")


def serve(settings: Settings) -> tuple[uvicorn.Server, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def store_settings(store: str, folder: Path) -> dict[str, Any]:
    if store == "duckdb":
        return {}
    env_file = ROOT / ".testenv" / "env.sh"
    found = dict(os.environ)
    if env_file.exists():
        for line in env_file.read_text().splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            found.setdefault(name.strip(), value.strip().strip('"').strip("'"))
    try:
        return {
            "timeseries": "questdb",
            "questdb_http_url": found["STAGE1_TEST_QUESTDB_HTTP"],
            "questdb_pg_url": found["STAGE1_TEST_QUESTDB_PG"],
        }
    except KeyError as missing:
        raise SystemExit(f"{missing} is not set; run `scripts/services.sh up` first") from None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-mib", type=float, default=64.0, help="largest file, in MiB")
    parser.add_argument("--block-bytes", type=int, default=8 << 20, help="STAGE1_CSV_BLOCK_BYTES of the server")
    parser.add_argument("--store", choices=["duckdb", "questdb"], default="duckdb")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="stage1-sweep-") as scratch:
        folder = Path(scratch)
        settings = store_settings(args.store, folder)
        server, url = serve(
            Settings(data_dir=folder / "data", auth_enabled=False, in_process_worker=True,
                     csv_block_bytes=args.block_bytes, log_level="WARNING", _env_file=None, **settings)
        )  # fmt: skip
        created: list[str] = []
        try:
            sizes = [
                k * args.block_bytes + delta
                for k in range(1, int(args.max_mib * (1 << 20)) // args.block_bytes + 1)
                for delta in (-1, 0, 1)
            ]
            routes = [("http", False), ("http", True), ("cli", False), ("cli", True)]
            for size in sizes:
                path = folder / f"sweep_{size}.csv"
                expected = sized_csv(path, size, seed=size)
                for via, queued in routes:
                    measurement = f"sweep_{uuid.uuid4().hex[:10]}"
                    created.append(measurement)
                    started = time.perf_counter()
                    (import_cli if via == "cli" else import_http)(url, path, measurement, queued)
                    got = landed_digest(url, measurement)
                    verdict = "ok" if got == expected else f"MISMATCH: sent {expected}, landed {got}"
                    label = f"{via}{' --async' if queued else ''}"
                    took = time.perf_counter() - started
                    print(f"{size:>12} B  {expected[0]:>9} rows  {label:<11} {took:6.2f} s  {verdict}")
                    if got != expected:
                        return 1
                path.unlink()
            print(f"{len(sizes) * len(routes)} imports at a {args.block_bytes}-byte block: every row landed once")
            return 0
        finally:
            if args.store == "questdb":
                with httpx.Client(base_url=settings["questdb_http_url"]) as questdb:
                    for name in created:
                        questdb.get("/exec", params={"query": f"DROP TABLE IF EXISTS {name}"})
            server.should_exit = True


if __name__ == "__main__":
    sys.exit(main())
