"""What fuzzing the live app found, pinned down; and hostile input a fuzzer rarely builds: path traversal in upload
names, SQL in names, columns and filters."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from uuid import uuid4

import anyio
import duckdb
import pytest
import uvicorn
from litestar.testing import AsyncTestClient

from adapters.duckdb.read_only import guarded
from adapters.memory.metadata import InMemoryUnitOfWorkFactory
from application.landing import Owner, WantedName, landed_rows, reserve_measurement
from domain.errors import Conflict, StoreTimeout, UpstreamError
from domain.frames import FrameKind
from domain.values import MeasurementName
from entrypoints.http import body_timeout, examples
from entrypoints.http.app import create_app
from entrypoints.settings import Settings

pytestmark = pytest.mark.anyio

RUN_ID = examples.EXAMPLE_RUN_ID
SIMULATION_ID = examples.EXAMPLE_SIMULATION_ID


async def story(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    """The document's examples: a dataset with frames, a run with predictions, a simulation with trades."""
    for path, body in (
        ("/api/datasets", examples.DATASET_EXAMPLE),
        ("/api/runs", examples.RUN_EXAMPLE),
        ("/api/simulations", examples.SIMULATION_EXAMPLE),
    ):
        response = await client.post(path, json=body)
        assert response.status_code == 201, response.text


def files_under(root: Path) -> set[Path]:
    return {path for path in root.rglob("*") if path.is_file()}


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    """The embedded default on real SQL stores (SQLite + DuckDB), where injection would bite."""
    settings = Settings(data_dir=tmp_path / "data", auth_enabled=False, in_process_worker=True, _env_file=None)
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client


# ---------------------------------------------------------------- found by schemathesis


@pytest.mark.parametrize("path", ["/api/datasets", "/api/runs", "/api/simulations"])
async def test_options_names_every_method_of_a_path_with_handlers_registered_apart(
    client: AsyncTestClient,  # type: ignore[type-arg]
    path: str,
) -> None:
    response = await client.options(path)
    assert response.status_code == 204
    assert {method.strip() for method in response.headers["allow"].split(",")} == {"GET", "POST", "OPTIONS"}


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [("csv", "text/csv"), ("ndjson", "application/x-ndjson"), ("arrow", "application/vnd.apache.arrow.stream")],
)
async def test_a_trades_stream_is_sent_with_its_own_content_type_not_json(
    client: AsyncTestClient,  # type: ignore[type-arg]
    fmt: str,
    media_type: str,
) -> None:
    await story(client)
    response = await client.get(f"/api/simulations/{SIMULATION_ID}/trades", params={"format": fmt})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == media_type
    downloaded = await client.get(f"/api/runs/{RUN_ID}", params={"download_predictions": "true", "format": fmt})
    assert downloaded.headers["content-type"].split(";")[0] == media_type


@pytest.mark.parametrize("params", [{"ts_unit": "week"}, {"ts_unit": ""}, {"format": "xml"}])
async def test_a_run_refuses_bad_stream_parameters_even_when_it_answers_the_run(
    client: AsyncTestClient,  # type: ignore[type-arg]
    params: dict[str, str],
) -> None:
    await story(client)
    response = await client.get(f"/api/runs/{RUN_ID}", params=params)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error", "details"}


@pytest.mark.parametrize(
    ("path", "field", "body"),
    [
        ("/api/runs", "prediction_measurement", {"dataset_slug": examples.EXAMPLE_SLUG}),
        ("/api/simulations", "trades_measurement", {"run_id": RUN_ID}),
    ],
)
async def test_an_async_save_with_a_bad_measurement_name_is_refused_before_it_is_queued(
    client: AsyncTestClient,  # type: ignore[type-arg]
    path: str,
    field: str,
    body: dict[str, str],
) -> None:
    await story(client)
    response = await client.post(path, params={"async": "true"}, json={**body, field: "AAA"})
    assert response.status_code == 400, response.text
    assert response.json()["details"]["field"] == field
    assert (await client.get("/api/jobs")).json()["total"] == 0


class SlowStore:
    """Holds every write open until told, so two saves overlap as they do under load."""

    def __init__(self) -> None:
        self.tables: dict[str, int] = {}
        self.release = asyncio.Event()

    async def describe(self, name: str) -> object | None:
        return object() if name in self.tables else None

    async def write(self, name: str, rows: object, options: object = None) -> SimpleNamespace:
        self.tables[name] = self.tables.get(name, 0) + 3
        await self.release.wait()
        return SimpleNamespace(rows_written=3)

    async def drop(self, name: str) -> None:
        self.tables.pop(name, None)


async def no_batches() -> AsyncIterator[object]:
    return
    yield


async def test_two_saves_landing_at_the_same_moment_never_share_a_measurement() -> None:
    store = SlowStore()
    names = InMemoryUnitOfWorkFactory()
    now = datetime(2026, 1, 1, tzinfo=UTC)
    default = lambda _: MeasurementName("btc_1h_wf_20260101000000")  # noqa: E731 -- the same second for both
    by_default = WantedName("prediction_measurement", None, default)
    first = await reserve_measurement(names, by_default, Owner("run", uuid4()), now)

    async def land(measurement: MeasurementName) -> int:
        async with landed_rows(store, store, measurement, no_batches(), FrameKind.PREDICTIONS) as rows:  # type: ignore[arg-type]
            return rows

    landing = asyncio.ensure_future(land(first))
    await asyncio.sleep(0)
    second = await reserve_measurement(names, by_default, Owner("run", uuid4()), now)
    assert second == f"{first}_2"
    with pytest.raises(Conflict):  # the same name asked for explicitly while the first lands is refused, not shared
        asked_for = WantedName("prediction_measurement", str(first), default)
        await reserve_measurement(names, asked_for, Owner("run", uuid4()), now)
    store.release.set()
    assert await landing == 3
    assert store.tables == {first: 3}


async def test_the_longest_idempotency_key_fits_the_job_queues_key_column(
    client: AsyncTestClient,  # type: ignore[type-arg]
    world,  # type: ignore[no-untyped-def]
) -> None:
    key = "k" * 200  # the longest key the API takes; Postgres' stage1_jobs.idempotency_key holds 200
    for _ in range(2):
        queued = await client.post(
            "/api/questdb/import/async",
            params={"measurement": "long_key"},
            content=examples.OHLCV_CSV,
            headers={"content-type": "text/csv", "idempotency-key": key},
        )
        assert queued.status_code == 202, queued.text
    assert len(world.queue._keys) == 1
    assert all(len(stored) <= 200 for stored in world.queue._keys)


def test_an_interrupt_met_while_pulling_an_arrow_batch_is_a_timeout_not_a_500() -> None:
    cursor = duckdb.connect().cursor()

    def interrupted() -> None:
        raise OSError("INTERRUPT Error: Interrupted!")

    def broken() -> None:
        raise OSError("IO Error: the file went away")

    with pytest.raises(StoreTimeout):
        guarded(cursor, 1.0, interrupted)
    with pytest.raises(UpstreamError):
        guarded(cursor, 1.0, broken)


async def test_an_export_with_a_vanishing_timeout_answers_200_or_504_never_500(
    embedded: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    body = {"sql": "SELECT range AS n FROM range(200000)", "format": "csv", "timeout": 1e-9}
    outcomes = set()
    for _ in range(20):
        try:
            outcomes.add((await embedded.post("/api/questdb/export", json=body)).status_code)
        except Exception as exc:  # once the first bytes are out, running past the timeout can only cut the stream
            assert caused_by(exc, StoreTimeout), repr(exc)
            outcomes.add("cut")
    assert outcomes <= {200, 504, "cut"}


def caused_by(exc: BaseException | None, kind: type[BaseException]) -> bool:
    for _ in range(20):
        if exc is None:
            return False
        if isinstance(exc, kind):
            return True
        if isinstance(exc, BaseExceptionGroup) and any(caused_by(inner, kind) for inner in exc.exceptions):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


# ---------------------------------------------------------------- path traversal in upload names

TRAVERSALS = [
    "../../etc/passwd",
    "../../../../tmp/stage1_owned.csv",
    "/etc/passwd",
    "..\\..\\evil.csv",
    "a/../../x.csv",
]


@pytest.mark.parametrize("filename", TRAVERSALS)
async def test_an_upload_name_with_a_path_never_writes_outside_the_upload_folder(
    client: AsyncTestClient,  # type: ignore[type-arg]
    world,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    filename: str,
) -> None:
    before = files_under(tmp_path.parent)
    response = await client.post(
        "/api/questdb/import",
        params={"measurement": "traversal", "kind": "ohlcv"},
        files={"file": (filename, examples.OHLCV_CSV, "text/csv")},
    )
    assert response.status_code == 200, response.text
    assert response.json()["rows_written"] == 3
    rejected = await client.post(
        "/api/datasets",
        files={
            "metadata": (None, '{"dataset_slug": "trav"}', "application/json"),
            "ohlcv": (filename, b"not,a\ncsv", "text/csv"),
        },
    )
    assert rejected.status_code == 400, rejected.text
    assert world.leftover_uploads() == []
    assert files_under(tmp_path.parent) == before
    assert not await anyio.Path("/tmp/stage1_owned.csv").exists()


async def test_an_async_import_under_a_traversal_name_leaves_nothing_behind_once_done(
    client: AsyncTestClient,  # type: ignore[type-arg]
    world,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    before = files_under(tmp_path.parent)
    queued = await client.post(
        "/api/questdb/import/async",
        params={"measurement": "traversal_async", "kind": "ohlcv"},
        files={"file": ("../../etc/passwd", examples.OHLCV_CSV, "text/csv")},
    )
    assert queued.status_code == 202, queued.text
    for _ in range(200):
        job = (await client.get(queued.json()["poll_url"])).json()
        if job["status"] in ("COMPLETED", "FAILED"):
            break
        await asyncio.sleep(0.02)
    assert job["status"] == "COMPLETED", job
    assert world.leftover_uploads() == []
    assert files_under(tmp_path.parent) == before


# ---------------------------------------------------------------- SQL where names, columns and filters go


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/datasets/btc_1h/ohlcv", {"columns": "timestamp;drop table btc_1h_ohlcv"}),
        ("/api/datasets/btc_1h/ohlcv", {"columns": 'timestamp,"open"'}),
        ("/api/datasets/btc_1h/ohlcv", {"columns": "timestamp,open) UNION SELECT 1 --"}),
        ("/api/datasets/btc_1h/ohlcv", {"sample_by": "1h; drop table btc_1h_ohlcv"}),
        ("/api/datasets/btc_1h/ohlcv", {"from": "1704067200; drop table btc_1h_ohlcv"}),
        ("/api/datasets/btc_1h/indicators", {"to": "0 OR 1=1"}),
        (f"/api/runs/{RUN_ID}/predictions", {"fold_number": "1 OR 1=1"}),
        (f"/api/runs/{RUN_ID}/predictions", {"fold_number": "1; drop table btc_1h_ohlcv"}),
        ("/api/questdb/measurement/btc_1h_ohlcv; drop table btc_1h_ohlcv", {}),
        ("/api/questdb/measurement/btc_1h_ohlcv%22%20--", {}),
    ],
)
async def test_sql_in_columns_filters_and_names_is_a_400_and_touches_nothing(
    embedded: AsyncTestClient,  # type: ignore[type-arg]
    path: str,
    params: dict[str, str],
) -> None:
    await story(embedded)
    response = await embedded.get(path, params=params)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error", "details"}
    bars = await embedded.get("/api/datasets/btc_1h/ohlcv", params={"format": "json"})
    assert len(bars.json()) == 3


@pytest.mark.parametrize(
    "body",
    [
        {"measurement": "x; drop table btc_1h_ohlcv", "data": examples.OHLCV_CSV},
        {"measurement": 'btc_1h_ohlcv" --', "data": examples.OHLCV_CSV},
        {"measurement": "btc_1h_ohlcv", "data": 'timestamp,"x); drop table btc_1h_ind; --"\n1704067200,1\n'},
    ],
)
async def test_sql_in_an_imported_name_or_header_never_reaches_another_table(
    embedded: AsyncTestClient,  # type: ignore[type-arg]
    body: dict[str, str],
) -> None:
    await story(embedded)
    response = await embedded.post("/api/questdb/import", json=body)
    # 409: the dataset owns btc_1h_ohlcv and the hostile header is not its columns (imports go through owners).
    assert response.status_code in (200, 400, 409), response.text
    indicators = await embedded.get("/api/datasets/btc_1h/indicators", params={"format": "json"})
    assert len(indicators.json()) == 3
    assert {"btc_1h_ohlcv", "btc_1h_ind"} <= {
        m["name"] for m in (await embedded.get("/api/questdb/measurements")).json()["measurements"]
    }


@pytest.mark.parametrize(
    "params",
    [
        {"measurement": "' OR '1'='1"},
        {"search": "' OR 1=1 --"},
        {"dataset_slug": "btc_1h' --"},
        {"status": "COMPLETED' OR 'x'='x"},
    ],
)
async def test_sql_in_list_filters_matches_nothing_and_drops_nothing(
    embedded: AsyncTestClient,  # type: ignore[type-arg]
    params: dict[str, str],
) -> None:
    await story(embedded)
    response = await embedded.get("/api/runs", params=params)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        assert response.json()["runs"] == []
    assert (await embedded.get("/api/runs")).json()["total"] == 1


# ---------------------------------------------------------------- slow clients, on a real server


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, int]]:
    """The embedded app under uvicorn on a loopback port, with a short body idle limit."""
    monkeypatch.setattr(body_timeout, "BODY_IDLE_SECONDS", 0.5)
    settings = Settings(data_dir=tmp_path / "served", auth_enabled=False, in_process_worker=False, _env_file=None)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    try:
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def raw_import(address: tuple[str, int], body: bytes, declared: int, chunk: int, pause: float) -> tuple[int, dict]:  # type: ignore[type-arg]
    """POST /api/questdb/import with the body in `chunk`-byte pieces `pause` seconds apart; the status and body."""
    head = (
        f"POST /api/questdb/import?measurement=slow&kind=ohlcv HTTP/1.1\r\nHost: {address[0]}\r\n"
        f"Content-Type: text/csv\r\nContent-Length: {declared}\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection(address, timeout=15) as sock:
        sock.sendall(head.encode())
        for start in range(0, len(body), chunk):
            sock.sendall(body[start : start + chunk])
            time.sleep(pause)
        answer = b""
        while chunk_read := sock.recv(65536):
            answer += chunk_read
    status_line, _, rest = answer.partition(b"\r\n")
    payload = rest.split(b"\r\n\r\n", 1)[1]
    return int(status_line.split()[1]), json.loads(payload)


def test_a_slow_but_steady_upload_is_handled(served: tuple[str, int]) -> None:
    body = examples.OHLCV_CSV.encode()
    status, answer = raw_import(served, body, len(body), chunk=16, pause=0.1)  # 14 pauses, each under the limit
    assert status == 200, answer
    assert answer["rows_written"] == 3


def test_an_upload_that_stalls_is_cut_with_a_408_instead_of_hanging(served: tuple[str, int]) -> None:
    body = examples.OHLCV_CSV.encode()
    started = time.monotonic()
    status, answer = raw_import(served, body[:20], len(body), chunk=20, pause=0)  # then nothing more comes
    assert status == 408, answer
    assert set(answer) == {"error", "details"}
    assert time.monotonic() - started < 10
