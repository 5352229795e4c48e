"""How the Python client receives a large answer: in pieces of up to 1 MiB rather than httpcore's 64 KiB,
whole whatever the chunking of the stream, and read again when the connection is cut in the middle of it.
A minimal local server plays the service's side (the read against `stage1 serve` is in test_python_client)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import numpy as np
import pyarrow as pa
import pytest
from stage1_client import AsyncClient, Client
from stage1_client.frames import ipc_stream

ROWS = 200_000  # about 10 MB of Arrow stream: many 1 MiB reads
HTTPCORE_READ = 64 * 1024


def bars_table(rows: int = ROWS) -> pa.Table:
    close = 100 + np.cumsum(np.random.default_rng(7).normal(0, 0.1, rows))
    return pa.table(
        {
            "timestamp": 1_700_000_000_000 + 60_000 * np.arange(rows, dtype=np.int64),  # epoch ms, as served
            "open": close,
            "high": close + 0.5,
            "low": close - 0.5,
            "close": close,
            "volume": np.arange(rows, dtype=np.float64),
        }
    )


class ChunkedServer:
    """Answers every GET with `body`, chunked into `pieces` sizes (the rest in one chunk); each answer in
    `cuts` closes the connection after that many body bytes instead (one entry used per request)."""

    def __init__(self, body: bytes, pieces: list[int]) -> None:
        self.body, self.pieces, self.cuts = body, pieces, list[int]()
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                owner.requests += 1
                cut = owner.cuts.pop(0) if owner.cuts else None
                self.send_response(200)
                self.send_header("Content-Type", "application/vnd.apache.arrow.stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                at = 0
                for size in [*owner.pieces, len(owner.body)]:
                    piece = owner.body[at : at + size]
                    if not piece:
                        break
                    if cut is not None and at + len(piece) > cut:
                        self.wfile.write(b"%x\r\n" % len(piece) + piece[: cut - at])
                        self.wfile.flush()
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    self.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
                    at += len(piece)
                self.wfile.write(b"0\r\n\r\n")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def table() -> pa.Table:
    return bars_table()


@pytest.fixture
def served(table: pa.Table) -> Iterator[ChunkedServer]:
    # Odd sizes: messages and chunks never line up, and one chunk is larger than a read.
    server = ChunkedServer(ipc_stream(table), [1, 7, 65_537, (1 << 20) + 3, 3])
    yield server
    server.close()


def expected_frame(table: pa.Table) -> Any:
    return table.set_column(0, "timestamp", table["timestamp"].cast(pa.timestamp("ms", tz="UTC"))).to_pandas()


def test_a_large_answer_reaches_the_client_in_pieces_larger_than_httpcores_64_kib(served: ChunkedServer) -> None:
    with Client(served.url, token="") as client, client._http.stream("GET", "/api/datasets/x/ohlcv") as answer:
        pieces = [len(piece) for piece in answer.iter_raw()]
    assert sum(pieces) == len(served.body)
    assert max(pieces) > HTTPCORE_READ


def test_the_async_client_reads_large_pieces_too(served: ChunkedServer) -> None:
    async def pieces() -> list[int]:
        async with (
            AsyncClient(served.url, token="") as client,
            client._http.stream("GET", "/api/datasets/x/ohlcv") as answer,
        ):
            return [len(piece) async for piece in answer.aiter_raw()]

    sizes = anyio.run(pieces)
    assert sum(sizes) == len(served.body)
    assert max(sizes) > HTTPCORE_READ


def test_bars_in_chunks_that_never_match_the_reads_come_back_as_the_served_frame_with_utc_times(
    served: ChunkedServer, table: pa.Table
) -> None:
    with Client(served.url, token="") as client:
        frame = client.datasets.bars("x")
        arrow = client.datasets.bars("x", as_="arrow")
    assert frame.equals(expected_frame(table))
    assert str(frame["timestamp"].dtype) == "datetime64[ms, UTC]"
    assert arrow.schema.field("timestamp").type == pa.timestamp("ms", tz="UTC")
    assert arrow.num_rows == ROWS


def test_the_async_client_reads_the_same_frame(served: ChunkedServer, table: pa.Table) -> None:
    async def read() -> Any:
        async with AsyncClient(served.url, token="") as client:
            return await client.datasets.bars("x")

    assert anyio.run(read).equals(expected_frame(table))


def test_a_bars_read_cut_in_the_middle_of_the_stream_is_read_again_whole(
    served: ChunkedServer, table: pa.Table
) -> None:
    served.cuts = [len(served.body) // 2, 3 << 20]
    with Client(served.url, token="", backoff=0.01) as client:
        frame = client.datasets.bars("x")
    assert served.requests == 3
    assert frame.equals(expected_frame(table))
