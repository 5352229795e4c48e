"""The upload folder fills up in the middle of an upload: a real `stage1 serve` process answers 507 in the
error envelope, keeps no byte of the upload, and goes on serving.

Two real ways to fill it, both run: a 2 MiB tmpfs mounted as the upload folder (ENOSPC; needs the right to
mount, which CI's root container has), and RLIMIT_FSIZE on the server process with SIGXFSZ ignored, so a
write past 2 MiB fails with EFBIG (works for any user)."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.integration.serve_processes import BIN, free_port, stop, wait_healthy

ROOM = 2 * 1024 * 1024
REPEATS = 3


def bars_csv(rows: int, start: int = 1_600_000_000) -> bytes:
    lines = ["timestamp,open,high,low,close,volume"]
    lines += [
        f"{start + i * 60},{i % 97}.5,{i % 97 + 1}.25,{i % 97 - 1}.75,{i % 89}.125,{i % 7 + 1000}" for i in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


BIG = bars_csv(70_000)  # about 3.5 MiB: more than the room there is
SMALL = bars_csv(100)


def as_root(*command: str) -> list[str]:
    """Mounting needs root: CI runners that are not root have passwordless sudo."""
    return list(command) if os.geteuid() == 0 else ["sudo", "-n", *command]


@contextlib.contextmanager
def tmpfs(size: int) -> Iterator[Path]:
    mount = Path(tempfile.mkdtemp(prefix="stage1-full-"))
    options = f"size={size},mode=1777"
    done = subprocess.run(as_root("mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount)), capture_output=True)
    if done.returncode != 0:
        mount.rmdir()
        pytest.fail(f"cannot mount a tmpfs here ({done.stderr.decode().strip()}); the EFBIG variant still runs")
    try:
        yield mount
    finally:
        subprocess.run(as_root("umount", str(mount)), check=False)
        mount.rmdir()


def file_size_limit(limit: int) -> None:
    """Runs in the child before exec: an ignored SIGXFSZ stays ignored, so a write past `limit` is EFBIG."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


@contextlib.contextmanager
def server(data_dir: Path, uploads: Path, limit: int | None) -> Iterator[str]:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("STAGE1_")}
    env |= {
        "STAGE1_DATA_DIR": str(data_dir),
        "STAGE1_UPLOAD_DIR": str(uploads),
        "STAGE1_AUTH_ENABLED": "false",
        "STAGE1_PORT": str(port),
    }
    process = subprocess.Popen(
        [str(BIN / "stage1"), "serve"],
        cwd=data_dir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=None if limit is None else lambda: file_size_limit(limit),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        yield url
    finally:
        stop([process])


@pytest.fixture(scope="module", params=["tmpfs", "file-size-limit"])
def full_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path_factory.mktemp("full-data")
    if request.param == "tmpfs":
        with tmpfs(ROOM) as uploads, server(data_dir, uploads, None) as url:
            yield url, uploads
    else:
        uploads = data_dir / "uploads"
        uploads.mkdir()
        with server(data_dir, uploads, ROOM) as url:
            yield url, uploads


def send(url: str, **request: object) -> httpx.Response:
    """A client that keeps sending after the server answered still gets the answer, unless the server shut
    the connection first; that is a refusal too, and the test then asks what was kept."""
    return httpx.post(url, timeout=60, **request)  # type: ignore[arg-type]


def uploads_of_the_three_forms(measurement: str) -> list[dict[str, object]]:
    query = {"measurement": measurement, "kind": "ohlcv"}
    return [
        {"params": query, "content": BIG, "headers": {"content-type": "text/csv"}},
        {"params": query, "files": {"file": ("bars.csv", BIG, "text/csv")}},
        {"json": {"measurement": measurement, "kind": "ohlcv", "data": BIG.decode()}},
    ]


def test_an_upload_that_fills_the_disk_is_a_507_that_keeps_nothing_and_the_service_goes_on(
    full_server: tuple[str, Path],
) -> None:
    url, uploads = full_server
    for repeat in range(REPEATS):
        measurement = f"full_{repeat}"
        for form, request in enumerate(uploads_of_the_three_forms(measurement)):
            answer = send(f"{url}/api/questdb/import", **request)
            assert answer.status_code == 507, (repeat, form, answer.status_code, answer.text[:500])
            assert set(answer.json()) == {"error", "details"}
            assert answer.json()["details"]["reason"], answer.text
            assert list(uploads.iterdir()) == [], f"form {form} left {list(uploads.iterdir())}"
            answer = send(f"{url}/api/questdb/import/async", **request)
            assert answer.status_code == 507, (repeat, form, answer.status_code, answer.text[:500])
            assert list(uploads.iterdir()) == []
        assert httpx.get(f"{url}/api/questdb/measurements", params={"prefix": measurement}).json()["measurements"] == []

        small = send(
            f"{url}/api/questdb/import",
            params={"measurement": measurement, "kind": "ohlcv"},
            content=SMALL,
            headers={"content-type": "text/csv"},
        )
        assert small.status_code == 200, small.text
        assert small.json()["rows_written"] == 100
        assert httpx.get(f"{url}/api/health").json()["status"] == "ok"
        assert list(uploads.iterdir()) == []
