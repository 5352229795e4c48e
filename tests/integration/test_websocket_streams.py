"""`/ws/streams/{dataset_slug}` with real WebSocket clients against the app on a real socket (uvicorn, in a thread of
this process, so the test can count the server's asyncio tasks), on the embedded stores and on Postgres."""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from tests.integration.served_app import free_port
from tests.jobs_support import fresh_postgres_database
from websockets.client import ClientProtocol
from websockets.frames import Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

from adapters.jobs import pg
from adapters.jobs.postgres_events import PostgresEventFeed
from entrypoints.http.app import create_app
from entrypoints.settings import Settings

pytestmark = pytest.mark.anyio

SECRET = "websocket-streams-secret"
AUTH_SECONDS = 0.5
SEND_SECONDS = 0.5


@dataclass
class Served:
    http: str
    ws: str
    port: int
    loop: asyncio.AbstractEventLoop
    token: str
    database_url: str | None

    def tasks(self, named: str = "") -> int:
        """The server's asyncio tasks (those whose name starts with `named`), counted on its own loop."""

        async def count() -> int:
            return sum(task.get_name().startswith(named) for task in asyncio.all_tasks())

        return asyncio.run_coroutine_threadsafe(count(), self.loop).result(timeout=10)

    def headers(self) -> dict[str, str]:
        return {"X-Stage1-Token": self.token}

    async def call(self, method: str, path: str, **options: Any) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.http, headers=self.headers(), timeout=30) as client:
            return await client.request(method, path, **options)

    async def change(self, slug: str, n: int) -> None:
        """A dataset upsert: one `dataset.updated` event about `slug`."""
        answer = await self.call("POST", "/api/datasets", json={"dataset_slug": slug, "metadata": {"n": n}})
        assert answer.status_code in (200, 201), answer.text

    async def session_cookie(self) -> str:
        session = await self.call("POST", "/api/auth/session", json={"secret": SECRET})
        return f"stage1_session={session.cookies['stage1_session']}"

    def stream(self, slug: str, last_event_id: int | None = None) -> str:
        query = "" if last_event_id is None else f"?last_event_id={last_event_id}"
        return f"{self.ws}/ws/streams/{slug}{query}"


@pytest.fixture(scope="module", params=["embedded", "postgres"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with ExitStack() as stack:
        database_url = stack.enter_context(fresh_postgres_database("stage1_ws")) if request.param == "postgres" else None
        settings = Settings(
            data_dir=tmp_path_factory.mktemp(request.param), database_url=database_url, auth_enabled=True,
            auth_secret=SECRET, auth_lockout_after=1000, in_process_worker=False, ws_auth_seconds=AUTH_SECONDS,
            ws_send_seconds=SEND_SECONDS, _env_file=None,
        )
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, name="ws-served-app", daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 60
            while not server.started:
                assert thread.is_alive() and time.monotonic() < deadline, "the app did not start"
                time.sleep(0.05)
            http = f"http://127.0.0.1:{port}"
            token = httpx.post(f"{http}/api/auth/token", json={"secret": SECRET}).json()["token"]
            yield Served(http, f"ws://127.0.0.1:{port}", port, server.servers[0].get_loop(), token, database_url)
        finally:
            server.should_exit = True
            thread.join(timeout=30)


def slug() -> str:
    return f"ws_{secrets.token_hex(4)}"


async def receive(ws: websockets.ClientConnection, count: int, timeout: float = 20) -> list[dict[str, Any]]:
    async with asyncio.timeout(timeout):
        return [json.loads(await ws.recv()) for _ in range(count)]


async def close_code(ws: websockets.ClientConnection, timeout: float = 10) -> int | None:
    """The code the server closed with (after any messages it sent first)."""
    async with asyncio.timeout(timeout):
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await ws.recv()
    return closed.value.rcvd.code if closed.value.rcvd else None


def sse_events(served: Served, dataset: str, count: int) -> list[dict[str, Any]]:
    """The first `count` events of `GET /api/events?dataset=` from the start, as `{"id", "type", "data"}`."""
    events: list[dict[str, Any]] = []
    params = {"dataset": dataset, "last_event_id": "0"}
    with httpx.stream("GET", f"{served.http}/api/events", params=params, headers=served.headers(), timeout=20) as sse:
        event: dict[str, Any] = {}
        for line in sse.iter_lines():
            field, _, value = line.partition(": ")
            if field == "id":
                event["id"] = int(value)
            elif field == "event":
                event["type"] = value
            elif field == "data":
                event["data"] = json.loads(value)
            elif not line and "id" in event:
                events.append(event)
                event = {}
                if len(events) == count:
                    return events
    raise AssertionError(f"the SSE feed ended after {len(events)} events")


async def test_a_subscriber_gets_its_datasets_events_in_order_and_the_same_as_the_sse_feed(served: Served) -> None:
    mine, other = slug(), slug()
    await served.change(mine, 0)
    await served.change(other, 0)
    async with websockets.connect(served.stream(mine, 0), additional_headers=served.headers()) as ws:
        first = await receive(ws, 1)  # from the store: it happened before the connection
        for n in range(1, 4):  # live: the connection is following by now
            await served.change(other, n)
            await served.change(mine, n)
        live = await receive(ws, 3)
    got = first + live
    assert [event["type"] for event in got] == ["dataset.updated"] * 4
    assert {event["data"]["dataset_slug"] for event in got} == {mine}
    ids = [event["id"] for event in got]
    assert ids == sorted(ids) and len(set(ids)) == 4
    assert got == sse_events(served, mine, 4)


async def test_a_subscriber_resumes_after_the_last_event_it_saw(served: Served) -> None:
    name = slug()
    await served.change(name, 0)
    await served.change(name, 1)
    async with websockets.connect(served.stream(name, 0), additional_headers=served.headers()) as ws:
        seen = await receive(ws, 2)
    await served.change(name, 2)  # while nobody listens
    await served.change(name, 3)
    async with websockets.connect(served.stream(name, seen[-1]["id"]), additional_headers=served.headers()) as ws:
        missed = await receive(ws, 2)
        await served.change(name, 4)
        after = await receive(ws, 1)
    assert [event["id"] for event in missed] == sorted(event["id"] for event in missed)
    assert missed[0]["id"] > seen[-1]["id"]
    assert [event["data"]["dataset_slug"] for event in missed + after] == [name] * 3
    assert after[0]["id"] > missed[-1]["id"]
    assert [event["id"] for event in seen + missed + after] == [event["id"] for event in sse_events(served, name, 5)]


async def test_each_way_of_authenticating_works_and_each_failed_one_closes_with_4401(served: Served) -> None:
    name = slug()
    await served.change(name, 0)
    cookie = await served.session_cookie()
    accepted = {
        "header": ({"X-Stage1-Token": served.token}, None),
        "bearer": ({"Authorization": f"Bearer {served.token}"}, None),
        "cookie": ({"Cookie": cookie}, None),
        "first message": ({}, json.dumps({"token": served.token})),
    }
    refused = {
        "header": ({"X-Stage1-Token": "s1_not-a-token"}, None),
        "cookie": ({"Cookie": "stage1_session=s1_not-a-session"}, None),
        "first message": ({}, json.dumps({"token": "s1_not-a-token"})),
        "first message without a token": ({}, json.dumps({"hello": "there"})),
        "first message that is no JSON": ({}, "let me in"),
    }
    for way, (headers, first) in accepted.items():
        async with websockets.connect(served.stream(name, 0), additional_headers=headers) as ws:
            if first is not None:
                await ws.send(first)
            assert (await receive(ws, 1))[0]["data"]["dataset_slug"] == name, way
    for way, (headers, first) in refused.items():
        async with websockets.connect(served.stream(name, 0), additional_headers=headers) as ws:
            if first is not None:
                await ws.send(first)
            assert await close_code(ws) == 4401, way


async def test_no_token_within_the_first_message_timeout_closes_with_4401(served: Served) -> None:
    async with websockets.connect(served.stream(slug())) as ws:
        started = time.monotonic()
        assert await close_code(ws) == 4401
        waited = time.monotonic() - started
    assert AUTH_SECONDS * 0.8 <= waited < AUTH_SECONDS + 3


async def test_the_session_cookie_does_not_open_a_stream_from_another_sites_page(served: Served) -> None:
    headers = {"Cookie": await served.session_cookie(), "Origin": "https://evil.example"}
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(served.stream(slug()), additional_headers=headers)
    assert refused.value.response.status_code == 403


async def test_an_unknown_dataset_closes_with_4404_and_a_bad_last_event_id_with_4400(served: Served) -> None:
    async with websockets.connect(served.stream("no_such_dataset"), additional_headers=served.headers()) as ws:
        assert await close_code(ws) == 4404
    name = slug()
    await served.change(name, 0)
    async with websockets.connect(f"{served.stream(name)}?last_event_id=soon", additional_headers=served.headers()) as ws:
        assert await close_code(ws) == 4400


async def wait_for_tasks(served: Served, expected: int, named: str = "", timeout: float = 10) -> int:
    """The server's task count once it is `expected` (at most `expected` when `named` is empty: tasks of its
    own come and go), or after `timeout` seconds."""
    for _ in range(int(timeout / 0.05)):
        count = served.tasks(named)
        if count == expected or (not named and count < expected):
            break
        await asyncio.sleep(0.05)
    return served.tasks(named)


async def quiet_task_count(served: Served) -> int:
    """The server's task count once it holds still for half a second (a closing connection's task is gone)."""
    counts = [served.tasks()]
    while len(counts) < 10 or len(set(counts[-10:])) > 1:
        await asyncio.sleep(0.05)
        counts.append(served.tasks())
        assert len(counts) < 400, f"the server's task count never settled: {counts[-10:]}"
    return counts[-1]


async def test_connections_that_come_and_go_leave_no_task_behind(served: Served) -> None:
    name = slug()
    await served.change(name, 0)
    async with websockets.connect(served.stream(name, 0), additional_headers=served.headers()) as ws:
        await receive(ws, 1)  # a first stream starts what lives on (the Postgres feed's listener)
    assert await wait_for_tasks(served, 0, "ws-stream-") == 0
    baseline = await quiet_task_count(served)
    open_ones = [await websockets.connect(served.stream(name), additional_headers=served.headers()) for _ in range(3)]
    assert await wait_for_tasks(served, 6, "ws-stream-") == 6  # two per stream
    assert served.tasks() >= baseline + 6  # the count does see them
    for ws in open_ones:
        await ws.close()
    for _ in range(6):
        async with websockets.connect(served.stream(name, 0), additional_headers=served.headers()) as ws:
            await receive(ws, 1)  # a clean close
        ws = await websockets.connect(served.stream(name, 0), additional_headers=served.headers())
        await receive(ws, 1)
        ws.transport.abort()  # gone without a close frame
        async with websockets.connect(served.stream(name), additional_headers={"X-Stage1-Token": "s1_wrong"}) as ws:
            assert await close_code(ws) == 4401
        async with websockets.connect(served.stream(name)):
            pass  # left while the server waited for its token
    assert await wait_for_tasks(served, baseline) <= baseline


class StalledSubscriber:
    """A WebSocket client on a socket with a tiny receive buffer that reads nothing after the handshake."""

    def __init__(self, served: Served, path: str) -> None:
        self.protocol = ClientProtocol(parse_uri(f"{served.ws}{path}"))
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect(("127.0.0.1", served.port))
        request = self.protocol.connect()
        request.headers["X-Stage1-Token"] = served.token
        self.protocol.send_request(request)
        self.sock.sendall(b"".join(self.protocol.data_to_send()))
        self.texts = 0
        while not any(isinstance(event, Response) for event in self._read()):
            pass

    def _read(self) -> list[Any]:
        data = self.sock.recv(65536)
        if data:
            self.protocol.receive_data(data)
        else:
            self.protocol.receive_eof()
        events = self.protocol.events_received()
        self.texts += sum(getattr(event, "opcode", None) == Opcode.TEXT for event in events)
        return events

    def read_to_the_end(self, timeout: float) -> int | None:
        """Reads until the server ends the connection; answers its close code (None: dropped without one)."""
        self.sock.settimeout(timeout)
        while self.protocol.close_rcvd is None and self.sock.fileno() >= 0:
            if not self.sock.recv(1, socket.MSG_PEEK):
                self.protocol.receive_eof()
                break
            self._read()
        self.sock.close()
        return self.protocol.close_rcvd.code if self.protocol.close_rcvd else None


PADDING = 64 * 1024


def events_to_outgrow_socket_buffers() -> int:
    """Enough events of PADDING bytes that a client reading none cannot hold them all: more than the kernel's
    largest send buffer (autotuned up to tcp_wmem's maximum), the server's own write buffer (64 KiB and a message)
    and the client's tiny receive buffer."""
    try:
        largest = int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    except (OSError, IndexError, ValueError):
        largest = 4 * 1024 * 1024
    return (largest + 2 * 1024 * 1024) // PADDING


async def publish_big_events(database_url: str, dataset_id: str, count: int) -> None:
    """Events about the dataset from another writer of the same database (as a worker process writes them)."""
    pool = await pg.create_pool(database_url, min_size=1, max_size=2)
    try:
        feed = PostgresEventFeed(pool, database_url)
        for n in range(count):
            await feed.publish("dataset.updated", {"dataset_id": dataset_id, "n": n, "padding": "x" * PADDING})
    finally:
        await pool.close()


@pytest.mark.parametrize("served", ["postgres"], indirect=True)
async def test_a_client_that_stops_reading_is_dropped_without_holding_up_the_server_or_other_subscribers(
    served: Served,
) -> None:
    assert served.database_url is not None
    name = slug()
    await served.change(name, 0)
    dataset_id = (await served.call("GET", f"/api/datasets/{name}")).json()["dataset_id"]
    stalled = StalledSubscriber(served, f"/ws/streams/{name}?last_event_id=0")
    async with websockets.connect(served.stream(name, 0), additional_headers=served.headers()) as reader:
        await receive(reader, 1)
        count = events_to_outgrow_socket_buffers()
        await publish_big_events(served.database_url, dataset_id, count)
        got = await receive(reader, count, timeout=60)
        assert [event["data"]["n"] for event in got] == list(range(count))
        started = time.monotonic()
        assert (await served.call("GET", "/api/health")).status_code == 200
        assert time.monotonic() - started < 5
        # The stalled client's stream ends while it still reads nothing; the reader's two tasks stay.
        assert await wait_for_tasks(served, 2, "ws-stream-", timeout=20) == 2
    code = stalled.read_to_the_end(timeout=20)
    assert code in (4408, None)  # the close frame, when the stalled socket could still take it
    assert stalled.texts < count
