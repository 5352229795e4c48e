"""Frames fetched from a URL: off by default, listed hosts only, internal addresses refused unless listed,
redirects checked hop by hop, the upload limit applied while streaming; tried against a real HTTP server on
loopback, which the tests list explicitly."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from tests.unit.entrypoints.http.test_desktop_flows_over_http import OHLCV_CSV

from adapters.remote import url_fetch
from entrypoints.http.app import create_app

pytestmark = pytest.mark.anyio


class Files(BaseHTTPRequestHandler):
    requests: list[str] = []
    port = 0

    def do_GET(self) -> None:
        Files.requests.append(self.path)
        path = self.path.split("?", 1)[0]
        if path == "/bars.csv":
            self._answer(200, OHLCV_CSV.encode())
        elif path == "/hop":
            self.send_response(302)
            self.send_header("Location", "/bars.csv")
            self.end_headers()
        elif path == "/elsewhere":
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{Files.port}/bars.csv")
            self.end_headers()
        elif path == "/big.csv":
            self._answer(200, OHLCV_CSV.encode() + b"1,2,3,4,5,6\n" * 100_000)  # 1.2 MB
        else:
            self._answer(404, b"no such file")

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    Files.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{Files.port}"
    finally:
        httpd.shutdown()
        httpd.server_close()


async def client_with(world: Any, hosts: list[str], **settings: Any) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    world.settings = world.settings.model_copy(update={"fetch_allowed_hosts": hosts, **settings})
    async with AsyncTestClient(app=create_app(world.settings, world.container())) as test_client:
        yield test_client


@pytest.fixture
async def fetching(world: Any) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async for test_client in client_with(world, ["127.0.0.1"]):
        yield test_client


def dataset(url: str) -> dict[str, Any]:
    return {"dataset_slug": "fetched", "symbol": "BTC", "granularity": "1h", "ohlcv_url": url}


async def refused_unasked(client: AsyncTestClient, url: str) -> Any:  # type: ignore[type-arg]
    """A dataset naming `url` is a 400, and the file server saw no request for it."""
    before = len(Files.requests)
    response = await client.post("/api/datasets", json=dataset(url))
    assert response.status_code == 400, response.text
    assert len(Files.requests) == before
    return response


async def test_fetching_is_off_until_hosts_are_listed(
    client: AsyncTestClient,  # type: ignore[type-arg]
    server: str,
) -> None:
    response = await refused_unasked(client, f"{server}/bars.csv")
    assert "STAGE1_FETCH_ALLOWED_HOSTS" in response.json()["error"]


async def test_a_dataset_and_an_import_take_their_rows_from_a_listed_loopback_server(
    fetching: AsyncTestClient,  # type: ignore[type-arg]
    server: str,
    world: Any,
) -> None:
    created = await fetching.post("/api/datasets", json=dataset(f"{server}/hop"))  # one redirect on the same host
    assert created.status_code == 201, created.text
    assert created.json()["ohlcv_rows"] == 48
    imported = await fetching.post(
        "/api/questdb/import", json={"measurement": "fetched_copy", "url": f"{server}/bars.csv", "kind": "ohlcv"}
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["rows_written"] == 48
    assert world.leftover_uploads() == []


async def test_a_host_that_is_not_listed_is_refused_without_a_request(
    fetching: AsyncTestClient,  # type: ignore[type-arg]
    server: str,
) -> None:
    response = await refused_unasked(fetching, "http://files.example.com/bars.csv?token=s3cret")
    assert response.json()["details"] == {
        "field": "ohlcv_url",
        "url": "http://files.example.com/bars.csv",
        "host": "files.example.com",
    }
    assert "s3cret" not in response.text


async def test_a_listed_name_that_resolves_to_an_internal_address_is_refused(
    world: Any,
    server: str,
) -> None:
    async for test_client in client_with(world, ["localhost"]):  # the name, but not its loopback address
        response = await refused_unasked(test_client, f"http://localhost:{Files.port}/bars.csv")
        assert "internal address" in response.json()["error"]


async def test_a_redirect_to_a_host_that_is_not_listed_is_refused(
    fetching: AsyncTestClient,  # type: ignore[type-arg]
    server: str,
) -> None:
    response = await fetching.post("/api/datasets", json=dataset(f"{server}/elsewhere"))
    assert response.status_code == 400 and response.json()["details"]["host"] == "localhost"


async def test_every_resolved_address_is_checked_and_the_connection_goes_to_the_checked_one(
    fetching: AsyncTestClient,  # type: ignore[type-arg]
    server: str,
    world: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = {"mixed.test": ["93.184.216.34", "10.1.2.3"], "pinned.test": ["127.0.0.1"]}

    async def resolve(host: str, port: int, **_: Any) -> list[Any]:
        return [(2, 1, 6, "", (address, port)) for address in answers[host]]

    monkeypatch.setattr(url_fetch.anyio, "getaddrinfo", resolve)
    async for test_client in client_with(world, ["mixed.test", "pinned.test", "127.0.0.1"]):
        mixed = await test_client.post("/api/datasets", json=dataset(f"http://mixed.test:{Files.port}/bars.csv"))
        assert mixed.status_code == 400 and "internal address" in mixed.json()["error"]
        # A name no DNS knows: the fetch can only have reached the server through the address checked here.
        pinned = await test_client.post("/api/datasets", json=dataset(f"http://pinned.test:{Files.port}/bars.csv"))
        assert pinned.status_code == 201, pinned.text


async def test_a_file_over_the_upload_limit_is_a_413_and_leaves_no_spooled_file(
    world: Any,
    server: str,
) -> None:
    async for test_client in client_with(world, ["127.0.0.1"], max_upload_mb=1):
        response = await test_client.post("/api/datasets", json=dataset(f"{server}/big.csv"))
        assert response.status_code == 413, response.text
    assert world.leftover_uploads() == []


async def test_a_missing_file_is_a_400_and_an_unreachable_server_a_502_both_naming_the_url_without_its_query(
    world: Any,
    server: str,
) -> None:
    async for test_client in client_with(world, ["127.0.0.1"]):
        missing = await test_client.post("/api/datasets", json=dataset(f"{server}/nope.csv?key=abc"))
        assert missing.status_code == 400 and missing.json()["details"]["url"] == f"{server}/nope.csv"
        assert missing.json()["details"]["status"] == 404 and "abc" not in missing.text
        closed = await test_client.post("/api/datasets", json=dataset("http://127.0.0.1:9/bars.csv?key=abc"))
        assert closed.status_code == 502 and closed.json()["details"]["url"] == "http://127.0.0.1:9/bars.csv"
