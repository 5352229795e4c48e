"""Real `stage1 serve` processes for tests that need more than one, or one they can kill: started with only
the settings given (none inherited from the environment), on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent


def need(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: source .testenv/env.sh, which points at the real stores")
    return value


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(data_dir: Path, **settings: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("STAGE1_")}
    env |= {"STAGE1_DATA_DIR": str(data_dir), "STAGE1_AUTH_ENABLED": "false", "STAGE1_PORT": str(port)}
    env |= {f"STAGE1_{key.upper()}": value for key, value in settings.items()}
    process = subprocess.Popen(
        [str(BIN / "stage1"), "serve"], cwd=data_dir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return process, f"http://127.0.0.1:{port}"


def wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120  # a busy shared machine has taken 55 s to start one
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError("serve did not become healthy")


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def started(root: Path, settings: list[dict[str, str]]) -> Iterator[list[str]]:
    """One healthy server per entry of `settings`, each with a data folder of its own; answers their URLs."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        urls = []
        for number, options in enumerate(settings):
            data_dir = root / f"server{number}"
            data_dir.mkdir()
            process, url = serve(data_dir, **options)
            processes.append(process)
            urls.append(url)
        for process, url in zip(processes, urls, strict=True):
            wait_healthy(url, process)
        yield urls
    finally:
        stop(processes)


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL: the process gets no chance to clean anything up."""
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=20)


def production(database_url: str) -> dict[str, str]:
    """Settings of a server on Postgres + QuestDB, as production runs them (workers in their own process)."""
    return {
        "database_url": database_url, "timeseries": "questdb", "in_process_worker": "false",
        "questdb_http_url": need("STAGE1_TEST_QUESTDB_HTTP"), "questdb_pg_url": need("STAGE1_TEST_QUESTDB_PG"),
    }
