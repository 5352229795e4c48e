"""A real `stage1 serve` on loopback with auth off, attacked the way a web page or a stranger would: a
cross-origin form post, a DNS-rebound host name, and an open route offered a huge body."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.integration.test_serve_process import BIN, clean_env, free_port, wait_healthy


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = Path(tmp_path_factory.mktemp("hostile"))
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "stage1"), "serve", "--port", str(port)],
        cwd=folder,
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def measurements(url: str) -> list[str]:
    listed = httpx.get(f"{url}/api/questdb/measurements", timeout=10).json()
    return [item["name"] for item in listed["measurements"]]


def test_a_cross_origin_form_post_cannot_replace_a_measurement(served: str) -> None:
    csv = b"timestamp,x\n1704067200,1\n"
    own = httpx.post(f"{served}/api/questdb/import", params={"measurement": "kept", "mode": "replace"},
                     files={"file": ("x.csv", csv, "text/csv")}, timeout=30)
    assert own.status_code == 200, own.text
    attack = httpx.post(
        f"{served}/api/questdb/import", params={"measurement": "kept", "mode": "replace"},
        files={"file": ("x.csv", b"timestamp,x\n1704067200,666\n1704070800,666\n", "text/csv")},
        headers={"Origin": "https://evil.example"}, timeout=30,
    )
    assert attack.status_code == 403, attack.text
    assert set(attack.json()) == {"error", "details"}
    rows = httpx.post(f"{served}/api/questdb/query", json={"sql": "SELECT x FROM kept"}, timeout=30).json()
    assert rows["rows"] == [[1]]


def test_a_dns_rebound_host_name_is_refused(served: str) -> None:
    port = served.rsplit(":", 1)[1]
    rebound = httpx.get(f"{served}/api/questdb/measurements", headers={"Host": f"attacker.example:{port}"})
    assert rebound.status_code == 421, rebound.text
    assert set(rebound.json()) == {"error", "details"}
    write = httpx.post(f"{served}/api/datasets", headers={"Host": "attacker.example"},
                       json={"dataset_slug": "rebound", "symbol": "X", "granularity": "1h"})
    assert write.status_code == 421
    assert "rebound" not in httpx.get(f"{served}/api/datasets").text
    assert httpx.get(f"{served}/api/health", headers={"Host": f"localhost:{port}"}).status_code == 200


def _content_length(answer: str) -> int:
    head = answer.split("\r\n\r\n", 1)[0].lower()
    for line in head.split("\r\n"):
        if line.startswith("content-length:"):
            return int(line.split(":", 1)[1])
    return 0


def test_an_open_route_refuses_a_huge_body_before_reading_it(served: str) -> None:
    host, port = served.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(
            b"POST /api/auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2147483648\r\n\r\n{\"secret\": \""
        )
        # The head and the body may come in separate packets: read until the announced body is all here.
        answer = ""
        while "\r\n\r\n" not in answer or len(answer.split("\r\n\r\n", 1)[1]) < _content_length(answer):
            chunk = sock.recv(65536).decode("latin-1")
            if not chunk:
                break
            answer += chunk
        elapsed = time.monotonic() - started
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert '"error"' in answer and '"details"' in answer
    assert elapsed < 5
