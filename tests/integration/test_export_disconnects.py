"""A client that hangs up in the middle of a large SQL export, against a real `stage1 serve` process and the
real QuestDB: within a second QuestDB no longer runs the statement and the server holds no connection to
QuestDB's Postgres port beyond those it held before; after many such clients none has leaked.
(The full-size version, 100 clients, is part 4 of benchmarks/timeseries_benchmark.py.)"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from tests.integration.serve_processes import need, serve, stop, wait_healthy

REPEATS = 3
CLIENTS = 20
# Rows made up by QuestDB itself (no table to load): far more than a client reads before hanging up. (With
# timestamp_sequence() in it, QuestDB leaves the statement out of query_activity(); the marker finds it there.)
LARGE = "SELECT x AS {marker}, rnd_double() AS open, rnd_double() AS close FROM long_sequence(200000000)"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, int]]:
    process, url = serve(
        tmp_path, timeseries="questdb", in_process_worker="false",
        questdb_http_url=need("STAGE1_TEST_QUESTDB_HTTP"), questdb_pg_url=need("STAGE1_TEST_QUESTDB_PG"),
    )
    try:
        wait_healthy(url, process)
        yield url, process.pid
    finally:
        stop([process])


def store_connections(pid: int) -> int:
    port = httpx.URL(need("STAGE1_TEST_QUESTDB_PG").replace("postgresql://", "http://", 1)).port
    return sum(
        1 for connection in psutil.Process(pid).net_connections(kind="tcp")
        if connection.raddr and connection.raddr.port == port and connection.status == psutil.CONN_ESTABLISHED
    )


def running_in_questdb(marker: str) -> bool:
    answer = httpx.get(
        f"{need('STAGE1_TEST_QUESTDB_HTTP')}/exec",
        params={"query": "SELECT query FROM query_activity()"}, timeout=10,
    )
    answer.raise_for_status()
    return any(marker in str(row[0]) for row in answer.json()["dataset"])


def start_and_hang_up(url: str, pid: int, before: int, marker: str) -> None:
    """Reads the first megabyte of the export, checks the server reads it from QuestDB on a connection of its
    own, then drops the connection."""
    with httpx.Client(timeout=60) as client, client.stream(
        "POST", f"{url}/api/questdb/export", json={"sql": LARGE.format(marker=marker), "timeout": 120}
    ) as response:
        assert response.status_code == 200
        received = 0
        # Held, so the client is still there when the connection is counted: a dropped iterator would close
        # the response at once, and the server's cleanup (tens of milliseconds) could win the race.
        chunks = response.iter_raw()
        for chunk in chunks:
            received += len(chunk)
            if received >= 1 << 20:
                break
        assert received >= 1 << 20
        assert store_connections(pid) > before


def true_within(seconds: float, check: Callable[[], bool]) -> None:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds, f"still not so {seconds} s after the client hung up"
        time.sleep(0.05)


def test_a_client_hanging_up_mid_export_stops_the_statement_and_frees_its_connection(
    server: tuple[str, int],
) -> None:
    url, pid = server
    before = store_connections(pid)
    for _ in range(REPEATS):
        marker = f"hangup_{uuid.uuid4().hex[:12]}"
        start_and_hang_up(url, pid, before, marker)
        true_within(1.0, lambda: not running_in_questdb(marker))  # noqa: B023 (called within this turn)
        true_within(1.0, lambda: store_connections(pid) <= before)


def test_many_clients_hanging_up_leave_no_store_connection_behind(server: tuple[str, int]) -> None:
    url, pid = server
    before = store_connections(pid)
    markers = [f"many_{uuid.uuid4().hex[:12]}" for _ in range(CLIENTS)]
    for marker in markers:
        start_and_hang_up(url, pid, before, marker)
    true_within(1.0, lambda: store_connections(pid) <= before)
    true_within(1.0, lambda: not any(running_in_questdb(marker) for marker in markers))
    assert httpx.post(f"{url}/api/questdb/export", json={"sql": "SELECT 1 AS one"}, timeout=30).text == "one\n1\n"
