"""The first hour of a new user (issue #15), through the real `stage1` console script: what it says,
what it refuses, and how it fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest
from tests.integration.test_serve_process import free_port, wait_healthy

STAGE1 = str(Path(sys.executable).parent / "stage1")


def stage1_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An embedded data folder under tmp_path; PYTHONPATH as the test run's, so the script runs this tree."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAGE1_")}
    env.update(STAGE1_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=os.pathsep.join(sys.path))
    env.update(extra)
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


SECRET = "first-hour-secret"
SERVED: dict[str, Path] = {}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real `stage1 serve` on a fresh embedded folder for the tests that talk to a server; it holds the
    embedded DuckDB file, as a user's server does, and issues tokens against SECRET."""
    folder = tmp_path_factory.mktemp("served")
    SERVED["folder"] = folder
    port = free_port()
    log = (folder / "serve.log").open("w")
    SERVED["log"] = folder / "serve.log"
    process = subprocess.Popen(
        [STAGE1, "serve", "--port", str(port)], cwd=folder,
        env=stage1_env(folder, STAGE1_AUTH_SECRET=SECRET, STAGE1_LOG_FORMAT="json"), stdout=log, stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


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
    # --kind given: the error is the only line (an inferred kind is announced on a line of its own).
    down = stage1(tmp_path, "import", str(bars(tmp_path)), "--measurement", "m", "--kind", "ohlcv", "--url", url)
    assert down.returncode == 1
    assert down.stderr.count("\n") == 1 and "stage1 serve" in down.stderr and "Traceback" not in down.stderr
    debugged = stage1(
        tmp_path, "--debug", "import", str(bars(tmp_path)), "--measurement", "m", "--kind", "ohlcv", "--url", url
    )
    assert debugged.returncode == 1 and "Traceback" in debugged.stderr


def test_a_missing_file_is_one_line_naming_it(tmp_path: Path) -> None:
    missing = stage1(tmp_path, "import", str(tmp_path / "nope.csv"), "--measurement", "m")
    assert missing.returncode == 1
    assert missing.stderr.count("\n") == 1 and "nope.csv" in missing.stderr and "does not exist" in missing.stderr


def test_a_4xx_prints_the_servers_details_verbatim_in_one_line(server: str, operator: dict[str, str], tmp_path: Path) -> None:
    refused = stage1(
        tmp_path, "import", str(bars(tmp_path)), "--measurement", "Bad-Name", "--kind", "ohlcv", "--url", server, **operator
    )
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert "400" in refused.stderr and "^[a-z][a-z0-9_]{0,126}$" in refused.stderr, "markup ate the pattern"


# ---------------------------------------------------------------- data-changing commands and the running server


@pytest.fixture(scope="module")
def operator(server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of an operator in another folder: the server's address and secret, and a token the CLI
    issued through that server."""
    folder = tmp_path_factory.mktemp("operator")
    env = {"STAGE1_PORT": server.rsplit(":", 1)[1], "STAGE1_AUTH_SECRET": SECRET}
    created = stage1(folder, "token", "create", "operator", **env)
    assert created.returncode == 0, created.stderr
    return {**env, "STAGE1_TOKEN": created.stdout.splitlines()[0]}


def test_seed_while_the_server_holds_the_embedded_stores_goes_through_it(
    server: str, operator: dict[str, str], tmp_path: Path
) -> None:
    seeded = stage1(tmp_path, "seed", **operator)
    assert seeded.returncode == 0, seeded.stderr
    assert "Traceback" not in seeded.stderr and f"through the server at {server}" in seeded.stderr
    listed = httpx.get(f"{server}/api/datasets", headers={"X-Stage1-Token": operator["STAGE1_TOKEN"]}).json()
    assert {"btc_4h", "eth_1h"} <= {item["dataset_slug"] for item in listed["datasets"]}
    assert stage1(tmp_path, "seed", **operator).returncode == 0, "seeding twice changes nothing"
    assert not (tmp_path / "data").exists(), "no second database next to the command"


def test_tokens_are_created_listed_and_revoked_through_the_server(
    server: str, operator: dict[str, str], tmp_path: Path
) -> None:
    created = stage1(tmp_path, "token", "create", "ci-bot", "--ttl-days", "7", **operator)
    assert created.returncode == 0, created.stderr
    token, *described = created.stdout.splitlines()
    fields = dict(line.split(": ", 1) for line in described)
    assert token.startswith("s1_") and fields["name"] == "ci-bot" and fields["expires_at"].startswith("20")
    listed = stage1(tmp_path, "token", "list", **operator)
    assert listed.returncode == 0, listed.stderr
    rows = {line.split("\t")[0]: line.split("\t") for line in listed.stdout.splitlines()[1:]}
    assert rows[fields["token_id"]][1] == "ci-bot" and rows[fields["token_id"]][-1] == "-"
    assert httpx.get(f"{server}/api/datasets", headers={"X-Stage1-Token": token}).status_code == 200
    revoked = stage1(tmp_path, "token", "revoke", fields["token_id"], **operator)
    assert revoked.returncode == 0, revoked.stderr
    assert httpx.get(f"{server}/api/datasets", headers={"X-Stage1-Token": token}).status_code == 401
    relisted = stage1(tmp_path, "token", "list", **operator).stdout.splitlines()[1:]
    assert next(line for line in relisted if line.startswith(fields["token_id"])).split("\t")[-1] != "-"
    assert not (tmp_path / "data").exists()


def test_without_a_server_a_token_command_names_its_data_folder_and_never_creates_one(tmp_path: Path) -> None:
    nobody = {"STAGE1_PORT": str(free_port())}
    refused = stage1(tmp_path, "token", "create", "lost", **nobody)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert str(tmp_path / "data") in refused.stderr and "holds no database" in refused.stderr
    assert not (tmp_path / "data" / "stage1.db").exists()

    assert stage1(tmp_path, "migrate", "up").returncode == 0
    created = stage1(tmp_path, "token", "create", "local", **nobody)
    assert created.returncode == 0, created.stderr
    assert f"using the data folder {tmp_path / 'data'}" in created.stderr
    token_id = created.stdout.splitlines()[1].removeprefix("token_id: ")
    assert stage1(tmp_path, "token", "revoke", token_id, **nobody).returncode == 0
    listed = stage1(tmp_path, "token", "list", **nobody).stdout.splitlines()
    assert listed[1].startswith(token_id) and listed[1].split("\t")[-1] != "-"


def test_a_duckdb_file_held_by_a_server_elsewhere_is_one_line_saying_so(server: str, tmp_path: Path) -> None:
    """The server's own data folder, but an address where nothing answers: DuckDB's lock is named, not dumped."""
    held = stage1(
        tmp_path, "seed", STAGE1_PORT=str(free_port()), STAGE1_DATA_DIR=str(SERVED["folder"] / "data")
    )
    assert held.returncode == 1 and held.stderr.count("\n") == 2, held.stderr  # the folder it uses, then why
    assert "Traceback" not in held.stderr and "holds it" in held.stderr


# ---------------------------------------------------------------- one log format, request ids


def test_serve_logs_one_json_object_per_line_with_request_ids_carried_into_job_lines(
    server: str, operator: dict[str, str]
) -> None:
    headers = {"X-Stage1-Token": operator["STAGE1_TOKEN"]}
    echoed = httpx.get(f"{server}/api/datasets", headers={**headers, "X-Request-ID": "first-hour.42"})
    assert echoed.headers["X-Request-ID"] == "first-hour.42"
    forged = httpx.get(f"{server}/api/nope", headers={**headers, "X-Request-ID": "evil\tid {}"})
    assert forged.status_code == 404 and len(forged.headers["X-Request-ID"]) == 32, "a new id, not the odd one"
    queued = httpx.post(
        f"{server}/api/questdb/import/async",
        params={"measurement": "logged_import", "kind": "ohlcv"},
        content=bars(SERVED["folder"]).read_bytes(),
        headers={**headers, "Content-Type": "text/csv", "X-Request-ID": "import-7"},
    )
    assert queued.status_code == 202, queued.text
    deadline = time.monotonic() + 60
    while httpx.get(f"{server}{queued.json()['poll_url']}", headers=headers).json()["status"] != "COMPLETED":
        assert time.monotonic() < deadline, "the import job did not finish"
        time.sleep(0.2)
    time.sleep(0.5)  # the worker's last line about the job follows its stored result

    lines = [json.loads(line) for line in SERVED["log"].read_text().splitlines()]  # every line is one object
    access = next(line for line in lines if line.get("request_id") == "first-hour.42")
    assert access["logger"] == "stage1.access" and access["status"] == 200 and access["path"] == "/api/datasets"
    assert access["duration_ms"] >= 0 and access["bytes"] > 0 and access["process"] == "serve"
    assert any(line["event"].startswith("job attempt ended") and line.get("request_id") == "import-7" for line in lines)
    # Quiet start-up: one line per store, then where it listens; none of Alembic's or uvicorn's chatter.
    assert [line["store"] for line in lines if line["event"] == "store"] == ["metadata", "timeseries (duckdb)"]
    assert not [line for line in lines if line["logger"].startswith(("alembic", "uvicorn"))]


def test_store_addresses_in_start_up_lines_never_show_a_password() -> None:
    from entrypoints.logs import stores
    from entrypoints.settings import Settings

    settings = Settings(
        database_url="postgresql+asyncpg://stage1:hunter2@db.internal:5432/stage1",
        timeseries="questdb",
        questdb_http_url="http://admin:quest@qdb.internal:9000",
        _env_file=None,
    )
    shown = dict(stores(settings))
    assert shown == {
        "metadata": "postgresql+asyncpg://stage1:***@db.internal:5432/stage1",
        "timeseries (questdb)": "http://admin:***@qdb.internal:9000",
    }


def test_import_finds_the_server_at_the_configured_address_without_url(
    server: str, operator: dict[str, str], tmp_path: Path
) -> None:
    imported = stage1(tmp_path, "import", str(bars(tmp_path)), "--measurement", "found_by_port", **operator)
    assert imported.returncode == 0, imported.stderr
    assert "10 rows" in imported.stderr
