"""A QuestDB that goes away mid-request (killed, restarting), a statement or an export, is a store that is unavailable, which a job
waits out and HTTP answers 503, never an answer of the store's own (502)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from adapters.questdb.http import QuestDBHttp
from domain.errors import StoreUnavailable

pytestmark = pytest.mark.anyio


async def _hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.close()  # the request arrived; the server dies before it answers


async def _half_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"data')
    await writer.drain()
    writer.close()


@pytest.fixture(params=[_hang_up, _half_answer], ids=["before-the-answer", "mid-answer"])
async def dying_server(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    server = await asyncio.start_server(request.param, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}"


async def test_a_questdb_that_closes_the_connection_is_unavailable_not_an_upstream_answer(dying_server: str) -> None:
    client = QuestDBHttp(dying_server, timeout=5)
    try:
        with pytest.raises(StoreUnavailable):
            await client.exec("SELECT 1")
    finally:
        await client.close()


async def test_an_export_whose_questdb_closes_the_connection_is_unavailable(dying_server: str) -> None:
    client = QuestDBHttp(dying_server, timeout=5)
    try:
        with pytest.raises(StoreUnavailable):
            async with client.export("SELECT 1", 5) as chunks:
                async for _ in chunks:
                    pass
    finally:
        await client.close()
