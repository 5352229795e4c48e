"""QuestDB's /exp answers, read off a connection of the export's own (adapters/questdb/exp_stream.py), against
a stand-in QuestDB on a local socket: the body comes out byte for byte however it is cut into HTTP chunks and
socket writes; an error answer is QuestDB's message; a QuestDB that stops answering is a timeout, one that
cannot be reached is unavailable; the request carries the base URL's path and credentials; and a reader that
stops early closes the connection (which is what stops QuestDB's statement)."""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Awaitable, Callable
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.questdb.http import QuestDBHttp
from domain.errors import StoreTimeout, StoreUnavailable, UpstreamError

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def chunked_answer(body: bytes, sizes: list[int], status: str = "200 OK") -> bytes:
    """An answer as QuestDB frames it: chunked, the body cut into chunks of the given sizes (cycled)."""
    parts = [f"HTTP/1.1 {status}\r\nServer: questDB/1.0\r\nTransfer-Encoding: chunked\r\n\r\n".encode()]
    start, turn = 0, 0
    while start < len(body):
        size = sizes[turn % len(sizes)] if sizes else len(body)
        piece = body[start : start + size]
        parts.append(b"%x\r\n" % len(piece) + piece + b"\r\n")
        start, turn = start + size, turn + 1
    parts.append(b"0\r\n\r\n")
    return b"".join(parts)


async def with_questdb(handler: Handler, use: Callable[[str], Awaitable[None]], base_path: str = "") -> None:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        await use(f"http://127.0.0.1:{port}{base_path}")


def answering(answer: bytes, writes: list[int] | None = None) -> Handler:
    """A QuestDB that reads the request, then writes `answer` cut at the `writes` offsets, each write sent off
    before the next."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        cuts = sorted({cut % (len(answer) + 1) for cut in writes or []})
        start = 0
        for cut in [*cuts, len(answer)]:
            writer.write(answer[start:cut])
            await writer.drain()
            start = cut
        writer.close()

    return handle


async def exported(url: str, sql: str = "SELECT 1", timeout: float = 5.0) -> bytes:
    client = QuestDBHttp(url, timeout=timeout)
    try:
        async with client.export(sql, timeout) as chunks:
            return b"".join([chunk async for chunk in chunks])
    finally:
        await client.close()


@settings(max_examples=40, deadline=None)
@given(
    st.binary(max_size=4000),
    st.lists(st.integers(1, 700), max_size=6),
    st.lists(st.integers(0, 10_000), max_size=8),
)
def test_the_body_comes_out_byte_for_byte_however_questdb_cuts_it(body: bytes, sizes: list[int], writes: list[int]) -> None:
    async def run() -> bytes:
        found: list[bytes] = []

        async def use(url: str) -> None:
            found.append(await exported(url))

        await with_questdb(answering(chunked_answer(body, sizes), writes), use)
        return found[0]

    assert asyncio.run(run()) == body


def test_a_body_many_reads_long_comes_out_whole_and_in_order() -> None:
    body = os.urandom(3 * 1024 * 1024 + 17)

    async def run() -> bytes:
        found: list[bytes] = []

        async def use(url: str) -> None:
            found.append(await exported(url))

        await with_questdb(answering(chunked_answer(body, [200_000, 1_000_000, 77])), use)
        return found[0]

    assert asyncio.run(run()) == body


def test_an_error_answer_is_questdbs_message_with_its_position() -> None:
    error = b'{"query":"SELECT nope FROM t","error":"Invalid column: nope","position":7}'

    async def use(url: str) -> None:
        with pytest.raises(UpstreamError) as raised:
            await exported(url, "SELECT nope FROM t")
        assert raised.value.message == "Invalid column: nope"
        assert raised.value.details == {"questdb": "Invalid column: nope", "position": 7}

    asyncio.run(with_questdb(answering(chunked_answer(error, [10], "400 Bad request")), use))


def test_an_error_answer_that_is_not_json_is_relayed_as_text() -> None:
    async def use(url: str) -> None:
        with pytest.raises(UpstreamError) as raised:
            await exported(url)
        assert raised.value.details == {"questdb": "internal trouble"}

    asyncio.run(with_questdb(answering(chunked_answer(b"internal trouble", [], "500 Internal error")), use))


def test_a_questdb_that_never_answers_is_a_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(30)

    async def use(url: str) -> None:
        with pytest.raises(StoreTimeout):
            await asyncio.wait_for(exported(url, timeout=0.3), 10)

    asyncio.run(with_questdb(silent, use))


def test_a_questdb_that_stops_mid_body_is_a_timeout() -> None:
    async def stalls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(chunked_answer(b"header\r\n1\r\n", [])[:-5])  # the rows so far, not the last chunk
        await writer.drain()
        await asyncio.sleep(30)

    async def use(url: str) -> None:
        with pytest.raises(StoreTimeout):
            await asyncio.wait_for(exported(url, timeout=0.3), 10)

    asyncio.run(with_questdb(stalls, use))


def test_an_unreachable_questdb_is_unavailable() -> None:
    with pytest.raises(StoreUnavailable):
        asyncio.run(exported("http://127.0.0.1:1"))


def test_the_request_asks_the_base_urls_path_with_its_credentials_and_the_statements_timeout() -> None:
    heads: list[bytes] = []
    sql = "SELECT \"a b\", 'x&y=z' FROM t WHERE c = '100%'"

    async def recording(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(chunked_answer(b"ok\r\n", []))
        await writer.drain()
        writer.close()

    async def use(url: str) -> None:
        credentials_url = url.replace("http://", "http://reader:p%40ss@", 1)
        assert await exported(credentials_url, sql, timeout=2.5) == b"ok\r\n"

    asyncio.run(with_questdb(recording, use, base_path="/questdb/"))

    request_line, *header_lines = heads[0].decode().strip().split("\r\n")
    method, target, _ = request_line.split(" ")
    headers = {name.lower(): value for name, _, value in (line.partition(": ") for line in header_lines)}
    assert method == "GET"
    assert urlsplit(target).path == "/questdb/exp"
    assert unquote(urlsplit(target).query.removeprefix("query=")) == sql
    assert base64.b64decode(headers["authorization"].removeprefix("Basic ")) == b"reader:p@ss"
    assert headers["statement-timeout"] == "2500"


def test_a_reader_that_stops_early_closes_the_connection() -> None:
    closed = asyncio.Event()

    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        piece = b"%x\r\n" % 65536 + b"x" * 65536 + b"\r\n"
        try:
            while True:
                writer.write(piece)
                await writer.drain()
        except ConnectionError:
            closed.set()
        finally:
            writer.close()

    async def use(url: str) -> None:
        client = QuestDBHttp(url, timeout=5)
        try:
            async with client.export("SELECT 1", 5) as chunks:
                async for _ in chunks:
                    break
            await asyncio.wait_for(closed.wait(), 1.0)
        finally:
            await client.close()

    asyncio.run(with_questdb(endless, use))
