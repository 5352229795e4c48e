"""`stage1 serve` as a real process on a fresh folder: no configuration, TLS, the loopback rule, and
`stage1 import` against it with and without a job."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAGE1_")}
    env.update(extra)
    return env


def wait_healthy(url: str, process: subprocess.Popen[bytes], verify: bool | str = True) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"serve exited with {process.returncode}: {process.stderr.read() if process.stderr else ''}"
            )
        try:
            if httpx.get(f"{url}/api/health", verify=verify, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError("serve did not become healthy")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "stage1"), "serve", "--port", str(port)],
        cwd=tmp_path,
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


def test_serve_with_no_configuration_runs_embedded_under_a_local_data_folder(served: str, tmp_path: Path) -> None:
    health = httpx.get(f"{served}/api/health").json()
    assert health["status"] == "ok" and health["timeseries"]["backend"] == "duckdb"
    assert (tmp_path / "stage1-data" / "stage1.db").exists()
    assert (tmp_path / "stage1-data" / "timeseries.duckdb").exists()


def test_stage1_import_uploads_a_file_blocking_and_as_a_job_with_progress(served: str, tmp_path: Path) -> None:
    csv = tmp_path / "bars.csv"
    csv.write_text(
        "timestamp,open,high,low,close,volume\n"
        + "".join(f"{1704067200 + i * 60},1,2,0.5,1.5,{i}\n" for i in range(20_000))
    )
    blocking = subprocess.run(
        [str(BIN / "stage1"), "import", str(csv), "--measurement", "cli_bars", "--kind", "ohlcv", "--url", served],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert blocking.returncode == 0, blocking.stderr
    assert "20000 rows" in blocking.stderr
    queued = subprocess.run(
        [str(BIN / "stage1"), "import", str(csv), "--measurement", "cli_bars_async", "--async", "--url", served],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert queued.returncode == 0, queued.stderr
    assert "20000 rows" in queued.stderr
    assert "kind: ohlcv (from the file's columns" in queued.stderr  # no --kind given: told from the columns
    described = httpx.get(f"{served}/api/questdb/measurement/cli_bars_async").json()
    assert described["row_count"] == 20_000
    holes = {5, 10, 11, 30, 31, 32}
    hourly = tmp_path / "hourly.csv"
    hourly.write_text(
        "timestamp,open,high,low,close,volume\n"
        + "".join(f"{1704067200 + h * 3600},1,2,0.5,1.5,1\n" for h in range(48) if h not in holes)
    )
    previewed = subprocess.run(
        [str(BIN / "stage1"), "import", str(hourly), "--measurement", "cli_preview", "--dry-run",
         "--granularity", "1h", "--url", served],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert previewed.returncode == 0, previewed.stderr
    assert "rows: 42" in previewed.stdout and "gaps: 3, 6 missing bars at 3600 s bars" in previewed.stdout
    assert httpx.get(f"{served}/api/questdb/measurement/cli_preview").status_code == 404
    refused = subprocess.run(
        [str(BIN / "stage1"), "import", str(csv), "--measurement", "Bad-Name", "--url", served],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 1 and "400" in refused.stderr


def test_serve_refuses_a_public_address_with_auth_switched_off(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(BIN / "stage1"), "serve", "--host", "0.0.0.0", "--port", str(free_port())],
        cwd=tmp_path,
        env=clean_env(STAGE1_AUTH_ENABLED="false"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0 and "loopback" in result.stderr


def test_serve_speaks_tls_with_a_certificate_and_key(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "stage1"), "serve", "--port", str(port), "--tls-cert", str(cert), "--tls-key", str(key)],
        cwd=tmp_path,
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_healthy(f"https://127.0.0.1:{port}", process, verify=str(cert))
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5)
    finally:
        process.terminate()
        process.wait(timeout=30)
