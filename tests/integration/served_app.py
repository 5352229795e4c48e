"""The app on a real socket, for tests that need the CLI or a client that sends its body slowly: uvicorn in
a thread of the test process (a second process would spend most of its time importing)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from click.testing import CliRunner, Result
from litestar.testing import AsyncTestClient

from entrypoints.cli import main
from entrypoints.http.app import create_app
from entrypoints.settings import Settings


def need(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the suite through scripts/test.sh, which starts the real stores")
    return value


def questdb_settings() -> dict[str, Any]:
    """Settings of a server whose time series live in the test QuestDB (metadata stays embedded)."""
    return {
        "timeseries": "questdb",
        "questdb_http_url": need("STAGE1_TEST_QUESTDB_HTTP"),
        "questdb_pg_url": need("STAGE1_TEST_QUESTDB_PG"),
    }


def store_settings(store: str, folder: Path) -> Settings:
    """An embedded app whose time series live in DuckDB (the default) or in the test QuestDB."""
    extra: dict[str, Any] = questdb_settings() if store == "questdb" else {}
    return Settings(data_dir=folder, auth_enabled=False, in_process_worker=True, _env_file=None, **extra)


@asynccontextmanager
async def store_client(settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    """A test client of the app; the QuestDB tables named in its `made` list are dropped at the end."""
    made: list[str] = []
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        test_client.made = made  # type: ignore[attr-defined]
        yield test_client
    if settings.timeseries == "questdb":
        async with httpx.AsyncClient(base_url=settings.questdb_http_url) as questdb:
            for name in made:
                await questdb.get("/exec", params={"query": f"DROP TABLE IF EXISTS {name}"})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(data_dir: Path, **settings: Any) -> Iterator[str]:
    """The app with an embedded metadata store and in-process worker under `data_dir`; answers its URL."""
    app = create_app(
        Settings(data_dir=data_dir, auth_enabled=False, in_process_worker=True, _env_file=None, **settings)
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, name="served-app", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise AssertionError("the app did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def stage1_import(url: str, path: Path, measurement: str, *options: str) -> Result:
    """`stage1 import` as a user runs it, in this process."""
    args = ["import", str(path), "--measurement", measurement, "--url", url, *options]
    return CliRunner().invoke(main, args, env={"STAGE1_TOKEN": None})
