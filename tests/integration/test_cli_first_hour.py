"""The first hour of a new user (issue #15), through the real `stage1` console script: what it says,
what it refuses, and how it fails."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
from tests.integration.test_serve_process import free_port, wait_healthy

STAGE1 = str(Path(sys.executable).parent / "stage1")


def stage1_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An embedded data folder under tmp_path; PYTHONPATH as the test run's, so the script runs this tree."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAGE1_")}
    env.update(STAGE1_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=os.pathsep.join(sys.path), **extra)
    return env


def stage1(tmp_path: Path, *args: str, stdin: int | None = subprocess.DEVNULL, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [STAGE1, *args], cwd=tmp_path, env=stage1_env(tmp_path, **env), stdin=stdin,
        capture_output=True, text=True, timeout=60,
    )


def test_version_prints_the_installed_package_version(tmp_path: Path) -> None:
    result = stage1(tmp_path, "--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"stage1 {version('stage1')}")


@pytest.mark.parametrize("args", [["migrate", "down"], ["migrate", "down", "base"], ["migrate", "reset"]])
def test_dropping_every_table_without_a_terminal_or_yes_is_refused_in_one_line(
    tmp_path: Path, args: list[str]
) -> None:
    assert stage1(tmp_path, "migrate", "up").returncode == 0
    refused = stage1(tmp_path, *args)
    assert refused.returncode == 1
    assert len(refused.stderr.strip().splitlines()) == 1 and "pass --yes" in refused.stderr
    assert "up to date" in stage1(tmp_path, "migrate", "status").stdout, "nothing was dropped"


def test_migrate_down_with_yes_drops_every_table(tmp_path: Path) -> None:
    assert stage1(tmp_path, "migrate", "up").returncode == 0
    dropped = stage1(tmp_path, "migrate", "down", "--yes")
    assert dropped.returncode == 0, dropped.stderr
    assert dropped.stdout.startswith("current: base (empty)")


def run_at_a_terminal(tmp_path: Path, answer: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    """stdin is a pseudo-terminal that answers the prompt."""
    leader, follower = os.openpty()
    try:
        process = subprocess.Popen(
            [STAGE1, *args], cwd=tmp_path, env=stage1_env(tmp_path), stdin=follower,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        os.write(leader, answer)
        out, err = process.communicate(timeout=60)
    finally:
        os.close(leader)
        os.close(follower)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_at_a_terminal_reset_asks_first_and_a_no_keeps_the_tables(tmp_path: Path) -> None:
    assert stage1(tmp_path, "migrate", "up").returncode == 0
    declined = run_at_a_terminal(tmp_path, b"n\n", "migrate", "reset")
    assert declined.returncode == 1 and b"drops every table" in declined.stderr
    assert "up to date" in stage1(tmp_path, "migrate", "status").stdout
    accepted = run_at_a_terminal(tmp_path, b"y\n", "migrate", "down")
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout.startswith(b"current: base (empty)")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real `stage1 serve` on a fresh embedded folder for the tests that talk to a server."""
    folder = tmp_path_factory.mktemp("served")
    port = free_port()
    process = subprocess.Popen(
        [STAGE1, "serve", "--port", str(port)], cwd=folder, env=stage1_env(folder),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def bars(tmp_path: Path, rows: int = 10) -> Path:
    csv = tmp_path / "bars.csv"
    csv.write_text(
        "timestamp,open,high,low,close,volume\n"
        + "".join(f"{1704067200 + i * 60},1,2,0.5,1.5,{i}\n" for i in range(rows))
    )
    return csv


def test_a_server_that_is_down_is_one_line_saying_to_start_it_and_debug_shows_the_traceback(
    tmp_path: Path,
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    down = stage1(tmp_path, "import", str(bars(tmp_path)), "--measurement", "m", "--url", url)
    assert down.returncode == 1
    assert down.stderr.count("\n") == 1 and "stage1 serve" in down.stderr and "Traceback" not in down.stderr
    debugged = stage1(tmp_path, "--debug", "import", str(bars(tmp_path)), "--measurement", "m", "--url", url)
    assert debugged.returncode == 1 and "Traceback" in debugged.stderr


def test_a_missing_file_is_one_line_naming_it(tmp_path: Path) -> None:
    missing = stage1(tmp_path, "import", str(tmp_path / "nope.csv"), "--measurement", "m")
    assert missing.returncode == 1
    assert missing.stderr.count("\n") == 1 and "nope.csv" in missing.stderr and "does not exist" in missing.stderr


def test_a_4xx_prints_the_servers_details_verbatim_in_one_line(server: str, tmp_path: Path) -> None:
    refused = stage1(tmp_path, "import", str(bars(tmp_path)), "--measurement", "Bad-Name", "--url", server)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert "400" in refused.stderr and "^[a-z][a-z0-9_]{0,126}$" in refused.stderr, "markup ate the pattern"
