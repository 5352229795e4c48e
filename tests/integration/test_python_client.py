"""The Python client (`clients/python`, `stage1_client`) against real `stage1 serve` processes: the embedded
default (SQLite + DuckDB, auth on) and Postgres + QuestDB; a write whose answer is lost lands once."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from stage1_client import (
    AsyncClient,
    Client,
    Conflict,
    Dataset,
    Forbidden,
    InvalidInput,
    Job,
    JobFailed,
    NotFound,
    Unauthorized,
    fold,
)

from adapters.sql import migrate

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
SECRET = "client-test-secret"
START = pd.Timestamp("2024-01-01", tz="UTC")


def need(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the suite through scripts/test.sh, which starts the real stores")
    return value


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAGE1_")}
    env.update(extra)
    return env


class Server:
    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.process = subprocess.Popen(
            [str(BIN / "stage1"), "serve", "--port", str(self.port)],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"serve exited with {self.process.returncode}"
            try:
                if httpx.get(f"{self.url}/api/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError("serve did not become healthy")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The zero-configuration server, with auth switched on by a shared secret."""
    server = Server(tmp_path_factory.mktemp("embedded"), clean_env(STAGE1_AUTH_SECRET=SECRET))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def embedded_token(embedded: Server) -> str:
    with Client(embedded.url, token="") as anonymous:
        issued = anonymous.auth.create_token(SECRET, "client-tests")
    assert issued.token
    return issued.token


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Postgres (a fresh database) + the shared QuestDB; the tables this module creates are dropped after."""
    pg_server = need("STAGE1_TEST_POSTGRES_URL")
    name = f"stage1_client_{uuid.uuid4().hex[:10]}"
    url = migrate.create_database(pg_server, name)
    migrate.upgrade(url)
    cwd = tmp_path_factory.mktemp("production")
    env = clean_env(
        STAGE1_DATABASE_URL=url,
        STAGE1_TIMESERIES="questdb",
        STAGE1_QUESTDB_HTTP_URL=need("STAGE1_TEST_QUESTDB_HTTP"),
        STAGE1_QUESTDB_PG_URL=need("STAGE1_TEST_QUESTDB_PG"),
        STAGE1_AUTH_ENABLED="false",
        STAGE1_IN_PROCESS_WORKER="true",
        STAGE1_DATA_DIR=str(cwd / "data"),
    )
    try:
        server = Server(cwd, env)
        try:
            yield server
        finally:
            server.stop()
            with httpx.Client(base_url=env["STAGE1_QUESTDB_HTTP_URL"], timeout=30) as questdb:
                for table in CREATED.pop(server.url, set()):
                    questdb.get("/exec", params={"query": f"DROP TABLE IF EXISTS '{table}'"})
    finally:
        migrate.drop_database(pg_server, name)


CREATED: dict[str, set[str]] = {}


@pytest.fixture(
    params=["embedded", pytest.param("postgres_questdb", marks=[pytest.mark.postgres, pytest.mark.questdb])]
)
def stage1(request: pytest.FixtureRequest) -> Iterator[tuple[Client, Server]]:
    if request.param == "embedded":
        server: Server = request.getfixturevalue("embedded")
        token: str | None = request.getfixturevalue("embedded_token")
    else:
        server, token = request.getfixturevalue("production"), None
    with Client(server.url, token=token) as client:
        yield client, server


def created(server: Server, *tables: str) -> None:
    CREATED.setdefault(server.url, set()).update(tables)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def bars(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 + np.cumsum(rng.normal(0, 1, n))
    return pd.DataFrame(
        {
            "timestamp": pd.date_range(START, periods=n, freq="1h"),
            "open": close,
            "high": close + 1,
            "low": close - 1,
            "close": close,
            "volume": rng.uniform(1, 10, n),
        }
    )


def predictions(frame: pd.DataFrame, first: int, fold_number: int = 0) -> pd.DataFrame:
    rest = frame.iloc[first:]
    return pd.DataFrame(
        {
            "timestamp": rest["timestamp"],
            "bar_index": np.arange(first, len(frame)),
            "fold_number": fold_number,
            "prediction": np.sign(rest["close"].diff().fillna(0)).to_numpy(),
            "target": rest["close"].pct_change().fillna(0).to_numpy(),
            "threshold_long": 0.5,
        }
    )


def trades(frame: pd.DataFrame, first: int, count: int) -> pd.DataFrame:
    times = frame["timestamp"].iloc[first : first + count].reset_index(drop=True)
    return pd.DataFrame(
        {
            "bar_timestamp": times,
            "entry_timestamp": times,
            "exit_timestamp": times + pd.Timedelta(hours=1),
            "side": ["long", "short"] * (count // 2) + ["long"] * (count % 2),
            "entry_price": 100.0,
            "exit_price": 101.0,
            "quantity": 1.0,
            "pnl": np.linspace(-1, 2, count),
            "return_pct": 0.01,
            "fees": 0.0,
            "fold_number": 0,
        }
    )


def test_a_dataset_created_from_pandas_reads_back_as_arrow_pandas_and_polars_with_utc_timestamps(
    stage1: tuple[Client, Server],
) -> None:
    client, server = stage1
    slug, frame = unique("cl_ds"), bars(300)
    indicators = pd.DataFrame({"timestamp": frame["timestamp"], "rsi": np.linspace(0, 100, 300)})
    dataset = client.datasets.create(slug, "BTCUSDT", "1h", ohlcv=frame, indicators=indicators)
    created(server, dataset.ohlcv_measurement or "", dataset.indicator_measurement or "")
    assert (dataset.ohlcv_rows, dataset.indicator_rows) == (300, 300)
    assert dataset.ohlcv_first_ts == int(START.timestamp())

    table = client.datasets.bars(slug, as_="arrow")
    assert table.schema.field("timestamp").type == pa.timestamp("ms", tz="UTC")
    assert table.num_rows == 300
    window = client.datasets.bars(slug, "2024-01-02T00:00:00Z", "2024-01-02T05:00:00Z", columns=["close"])
    assert str(window["timestamp"].dtype) == "datetime64[ms, UTC]"
    assert window["timestamp"].iloc[0] == pd.Timestamp("2024-01-02", tz="UTC")
    assert list(window.columns) == ["timestamp", "close"] and 5 <= len(window) <= 6
    window.loc[0, "close"] = -1.0  # a frame the researcher owns: writable, not a view of Arrow's buffers
    window.loc[1, "timestamp"] = pd.Timestamp("2030-01-01", tz="UTC")
    assert window["close"].iloc[0] == -1.0 and window["timestamp"].iloc[1].year == 2030
    daily = client.datasets.bars(slug, sample_by="1d", as_="polars")
    assert isinstance(daily, pl.DataFrame) and daily.height == 13
    assert daily["volume"].sum() == pytest.approx(frame["volume"].sum())
    assert client.datasets.indicators(slug, as_="polars")["rsi"].max() == pytest.approx(100.0)

    assert client.datasets.get(slug).dataset_id == dataset.dataset_id
    assert slug in [d.dataset_slug for d in client.datasets.list(search=slug)]
    with pytest.raises(NotFound) as missing:
        client.datasets.get(unique("nope"))
    assert missing.value.status == 404 and missing.value.error


def test_a_run_and_its_simulation_log_and_read_back(stage1: tuple[Client, Server]) -> None:
    client, server = stage1
    slug, frame = unique("cl_run"), bars(400)
    dataset = client.datasets.create(slug, "ETHUSDT", "1h", ohlcv=frame)
    saved = client.runs.log(
        slug,
        folds=[fold(0, (0, 299), (300, 399), metrics={"hit_rate": 0.55})],
        predictions=predictions(frame, 300),
        hyperparameters={"eta": 0.1, "max_depth": 4},
        metrics={"sharpe": 1.25},
        target_column="ret_1h",
        name="xgb baseline",
        tags={"owner": "ana"},
        notes="first try",
    )
    assert saved.questdb_rows_written == 100
    run = client.runs.get(saved)
    assert run.dataset_id == dataset.dataset_id and run.hyperparameters == {"eta": 0.1, "max_depth": 4}
    assert run.folds is not None and run.folds[0].test_start == 300
    assert (run.name, run.tags, run.notes) == ("xgb baseline", {"owner": "ana"}, "first try")
    read = client.runs.predictions(saved, as_="arrow")
    assert read.column_names[:5] == ["timestamp", "bar_index", "fold_number", "prediction", "target"]
    assert "threshold_long" in read.column_names and read.num_rows == 100
    assert read.schema.field("timestamp").type == pa.timestamp("ms", tz="UTC")
    assert [r.run_id for r in client.runs.list(dataset=slug)] == [saved.run_id]
    assert run.checks == {"predictions_outside_test_window": 0, "examples": []}

    joined = client.runs.frame(saved, start="2024-01-13T10:00:00Z")  # bar 298 on: two bars before the test window
    assert str(joined["timestamp"].dtype) == "datetime64[ms, UTC]" and len(joined) == 102
    assert list(joined.columns)[:6] == ["timestamp", "open", "high", "low", "close", "volume"]
    assert joined["bar_index"].isna().tolist()[:3] == [True, True, False] and joined["bar_index"].iloc[2] == 300
    assert joined["close"].to_numpy() == pytest.approx(frame["close"].to_numpy()[298:])
    with pytest.raises(InvalidInput) as unknown:
        client.runs.frame(saved, indicators=["rsi", "macd"])
    assert "macd" in str(unknown.value)

    sim = client.simulations.log(saved, trades=trades(frame, 300, 10), config={"initial_capital": 1000.0})
    created(server, dataset.ohlcv_measurement or "", saved.prediction_measurement, sim.trades_measurement)
    assert sim.questdb_rows_written == 10
    assert client.simulations.get(sim).trade_count == 10
    assert [s.simulation_id for s in client.simulations.list(run=saved)] == [sim.simulation_id]
    equity = client.simulations.equity(sim)
    assert len(equity.points) == 11 and equity.final_equity == pytest.approx(1000.0 + 5.0)
    traded = client.simulations.trades(sim)
    assert str(traded["exit_timestamp"].dtype) == "datetime64[ms, UTC]" and len(traded) == 10

    with pytest.raises(Conflict):
        client.runs.log(unique("no_such_dataset"), predictions=predictions(frame, 300))
    with pytest.raises(InvalidInput) as bad:
        client.runs.log(slug, predictions=predictions(frame, 300).drop(columns=["target"]))
    assert "target" in str(bad.value)


def test_runs_and_simulations_are_found_by_their_metrics_and_compared(stage1: tuple[Client, Server]) -> None:
    client, server = stage1
    slug, frame = unique("cl_find"), bars(200)
    dataset = client.datasets.create(slug, "BTCUSDT", "1h", ohlcv=frame)
    runs = [
        client.runs.log(
            slug,
            predictions=predictions(frame, 150),
            hyperparameters={"eta": eta, "depth": 4},
            metrics={"sharpe": sharpe},
        )
        for eta, sharpe in ((0.1, 0.5), (0.2, 1.5), (0.3, 1.0))
    ]
    sims = [
        client.simulations.log(run, trades=trades(frame, 150, count), config={"initial_capital": 100.0, "fee": fee})
        for run, count, fee in ((runs[0], 4, 0.0), (runs[1], 8, 0.001), (runs[2], 6, 0.0))
    ]
    created(
        server,
        dataset.ohlcv_measurement or "",
        *(r.prediction_measurement for r in runs),
        *(s.trades_measurement for s in sims),
    )

    found = client.runs.search(f"dataset.slug = '{slug}' AND metrics.sharpe >= 1", order_by="metrics.sharpe desc")
    assert list(found["run_id"]) == [runs[1].run_id, runs[2].run_id]
    assert list(found["metrics.sharpe"]) == [1.5, 1.0]
    long = f"dataset.slug = '{slug}' AND (" + " OR ".join(f"params.eta = {i / 1000}" for i in range(400)) + ")"
    assert {r["run_id"] for r in client.runs.search(long, as_="records")} == {r.run_id for r in runs}
    with pytest.raises(InvalidInput) as bad:
        client.runs.search("metrics.sharpe >> 1")
    assert bad.value.details["field"] == "filter" and bad.value.details["position"] >= 0
    compared = client.runs.compare(runs[:2])
    assert compared["params_differ"] == ["eta"] and compared["metrics"]["sharpe"] == [0.5, 1.5]

    by_pnl = client.simulations.search(
        f"dataset.slug = '{slug}' AND run.params.eta >= 0.2", order_by="buckets.all.total_pnl desc", as_="polars"
    )
    assert by_pnl["simulation_id"].to_list() == [sims[1].simulation_id, sims[2].simulation_id]
    assert by_pnl["buckets.all.total_pnl"].to_list() == pytest.approx([4.0, 3.0])
    assert client.simulations.compare(sims[:2])["config_differ"] == ["fee"]


def test_a_run_logged_as_it_goes_is_closed_by_an_update(stage1: tuple[Client, Server]) -> None:
    client, server = stage1
    slug, frame = unique("cl_upd"), bars(100)
    dataset = client.datasets.create(slug, "BTCUSDT", "1h", ohlcv=frame)
    saved = client.runs.log(
        slug,
        status="RUNNING",
        predictions=predictions(frame, 80),
        tags={"stage": "wip", "owner": "ana"},
        metrics={"sharpe": 0.1},
    )
    sim = client.simulations.log(saved, trades=trades(frame, 80, 4), status="RUNNING")
    created(server, dataset.ohlcv_measurement or "", saved.prediction_measurement, sim.trades_measurement)
    opened = client.runs.set_folds(saved, [fold(0, (0, 59), (60, 79)), fold(1, (20, 79), (80, 99))])
    assert [f.fold_number for f in opened.folds or []] == [0, 1]
    replaced = client.runs.set_folds(saved, [fold(1, (30, 79), (80, 99), thresholds={"long": 0.6})])
    assert [(f.fold_number, f.train_start) for f in replaced.folds or []] == [(0, 0), (1, 30)]
    appended = client.runs.append(saved, predictions(frame, 60).iloc[:20])
    checks = appended.pop("checks")
    assert appended == {
        "run_id": saved.run_id,
        "prediction_measurement": saved.prediction_measurement,
        "questdb_rows_written": 20,
    }
    # The rows logged first (bars 80-99, fold 0) lie past fold 0's test window once its bounds came (60-79).
    assert checks["predictions_outside_test_window"] == 20 and checks["examples"][0] == {"bar_index": 80, "fold_number": 0}
    closed = client.runs.update(saved, status="COMPLETED", tags={"stage": None, "final": "yes"}, metrics={"hit": 0.6})
    assert closed.status == "COMPLETED" and closed.completed_at is not None
    assert closed.tags == {"owner": "ana", "final": "yes"} and closed.summary_metrics == {"sharpe": 0.1, "hit": 0.6}
    with pytest.raises(Conflict) as moved:
        client.runs.update(saved, status="RUNNING")
    assert "COMPLETED" in str(moved.value) and "RUNNING" in str(moved.value)
    with pytest.raises(Conflict):
        client.runs.set_folds(saved, [fold(2, (0, 10), (11, 20))])
    with pytest.raises(Conflict):
        client.runs.append(saved, predictions(frame, 99))
    assert len(client.runs.predictions(saved)) == 40  # the appended 20 after the 20 logged, none after closing
    failed = client.simulations.update(sim, status="FAILED", notes="fill model was wrong", name="sim 1")
    assert (failed.status, failed.notes, failed.name) == ("FAILED", "fill model was wrong", "sim 1")


def test_a_dataset_grows_by_upload_and_another_registers_by_backfill(stage1: tuple[Client, Server]) -> None:
    client, server = stage1
    slug, frame = unique("cl_grow"), bars(150)
    dataset = client.datasets.create(slug, "BTCUSDT", "1h", ohlcv=frame.iloc[:100])
    created(server, dataset.ohlcv_measurement or "")
    grown = client.datasets.upload(slug, ohlcv=frame.iloc[100:120])
    assert isinstance(grown, Dataset) and grown.ohlcv_rows == 120
    queued = client.datasets.upload(dataset, ohlcv=frame.iloc[120:], background=True)
    assert isinstance(queued, Job) and client.jobs.wait(queued, timeout=60).status == "COMPLETED"
    assert client.datasets.get(slug).ohlcv_rows == 150
    run = client.runs.log(slug, predictions=predictions(frame, 140))
    created(server, run.prediction_measurement)
    assert [r.run_id for r in client.datasets.runs(slug)] == [run.run_id]
    assert run.run_id in str(client.datasets.hierarchy(slug))

    ohlcv, indicators = unique("cl_bf_ohlcv"), unique("cl_bf_ind")
    created(server, ohlcv, indicators)
    client.imports.upload(frame, ohlcv, kind="ohlcv", job=False, progress=False)
    rsi = pd.DataFrame({"timestamp": frame["timestamp"], "rsi": np.linspace(0, 100, 150)})
    client.imports.upload(rsi, indicators, kind="indicators", job=False, progress=False)
    registered = client.datasets.backfill(unique("cl_bf"), "ETHUSDT", "1h", ohlcv, indicators)
    assert (registered.ohlcv_rows, registered.indicator_rows) == (150, 150)
    assert registered.ohlcv_measurement == ohlcv


def test_sql_reads_the_store_as_a_frame_and_refuses_writes(stage1: tuple[Client, Server]) -> None:
    client, server = stage1
    slug = unique("cl_sql")
    dataset = client.datasets.create(slug, "BTCUSDT", "1h", ohlcv=bars(50))
    created(server, dataset.ohlcv_measurement or "")
    frame = client.sql(f"SELECT timestamp, close FROM {dataset.ohlcv_measurement} ORDER BY timestamp LIMIT 5")
    assert len(frame) == 5 and str(frame["timestamp"].dtype) == "datetime64[ms, UTC]"
    assert client.query(f"SELECT count(*) AS n FROM {dataset.ohlcv_measurement}")["rows"] == [[50]]
    with pytest.raises(Forbidden):
        client.sql(f"DROP TABLE {dataset.ohlcv_measurement}")


def test_an_import_job_is_followed_to_its_result_and_a_bad_line_is_named(
    stage1: tuple[Client, Server], tmp_path: Path
) -> None:
    client, server = stage1
    measurement = unique("cl_imp")
    created(server, measurement)
    csv = tmp_path / "bars.csv"
    epoch_seconds = (bars(2000)["timestamp"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    bars(2000).assign(timestamp=epoch_seconds).to_csv(csv, index=False)
    result = client.imports.upload(csv, measurement, kind="ohlcv", progress=False)
    assert result.rows_written == 2000 and result.first_ts == int(START.timestamp())
    later = bars(10, seed=3).assign(timestamp=lambda f: f["timestamp"] + pd.Timedelta(days=365))
    queued = client.imports.upload(later, measurement, kind="ohlcv", wait=False, progress=False)
    assert client.jobs.wait(queued, timeout=60).status == "COMPLETED"
    assert queued.job_id in [j.job_id for j in client.jobs.list(type=queued.type)]
    assert client.measurements.get(measurement).row_count == 2010

    broken = tmp_path / "broken.csv"
    broken.write_text("timestamp,open,high,low,close,volume\n1704067200,1,2,0,1,5\n1704070800,1,2,0,oops,5\n")
    with pytest.raises(InvalidInput) as bad:
        client.imports.upload(broken, unique("cl_bad"), kind="ohlcv", job=False, progress=False)
    assert bad.value.line == 3 and "oops" in str(bad.value)


def test_the_event_feed_replays_a_logged_run(embedded: Server, embedded_token: str) -> None:
    with Client(embedded.url, token=embedded_token) as client:
        slug, frame = unique("cl_ev"), bars(50)
        client.datasets.create(slug, "BTCUSDT", "1h", ohlcv=frame)
        saved = client.runs.log(slug, predictions=predictions(frame, 40))
        for event in client.events.stream(types=["run.created"], last_event_id=0):
            assert event.type == "run.created" and event.id
            if event.data.get("run_id") == saved.run_id:
                break


@pytest.mark.anyio
async def test_the_async_client_has_the_same_methods_and_answers(embedded: Server, embedded_token: str) -> None:
    async with AsyncClient(embedded.url, token=embedded_token) as client:
        slug, frame = unique("cl_async"), bars(120)
        await client.datasets.create(slug, "BTCUSDT", "1h", ohlcv=frame)
        read = await client.datasets.bars(slug, as_="arrow")
        assert read.num_rows == 120
        saved = await client.runs.log(slug, predictions=predictions(frame, 100), metrics={"sharpe": 0.5})
        assert (await client.runs.get(saved.run_id)).summary_metrics == {"sharpe": 0.5}
        job = await client.imports.upload(frame, unique("cl_async_imp"), kind="ohlcv", wait=False, progress=False)
        assert (await client.jobs.wait(job)).status == "COMPLETED"
        async for event in client.events.stream(types=["run.created"], last_event_id=0):
            if event.data.get("run_id") == saved.run_id:
                break
        with pytest.raises(NotFound):
            await client.runs.get(str(uuid.uuid4()))
        with pytest.raises(NotFound):
            await client.datasets.bars(unique("nope"))


def test_a_wrong_token_is_unauthorized_and_login_saves_one_the_client_uses(
    embedded: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(Unauthorized) as refused, Client(embedded.url, token="not-a-token") as client:
        client.datasets.list()
    assert refused.value.status == 401
    config = tmp_path / "stage1" / "config.json"
    login = subprocess.run(
        [str(BIN / "stage1"), "login", "--url", embedded.url, "--secret", SECRET, "--name", "notebook"],
        env=clean_env(STAGE1_CONFIG=str(config)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert login.returncode == 0, login.stderr
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    for name in ("STAGE1_URL", "STAGE1_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STAGE1_CONFIG", str(config))
    with Client() as client:
        assert client.url == embedded.url
        assert isinstance(client.datasets.list().total, int)
    bad = subprocess.run(
        [str(BIN / "stage1"), "login", "--url", embedded.url, "--token", "wrong"],
        env=clean_env(STAGE1_CONFIG=str(tmp_path / "other.json")),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 1 and "401" in bad.stderr and not (tmp_path / "other.json").exists()


def test_tokens_measurements_metrics_and_a_failed_job_put_back(
    embedded: Server, embedded_token: str, tmp_path: Path
) -> None:
    with Client(embedded.url, token=embedded_token) as client:
        extra = client.auth.create_token(SECRET, "to-revoke")
        assert extra.token_id in [t.token_id for t in client.auth.tokens(limit=1000)]
        client.auth.revoke(extra.token_id)
        with pytest.raises(Unauthorized), Client(embedded.url, token=extra.token) as revoked:
            revoked.datasets.list()
        measurement = unique("cl_meas")
        client.imports.upload(bars(30), measurement, kind="ohlcv", job=False, progress=False)
        assert [m.row_count for m in client.measurements.list(prefix=measurement)] == [30]
        assert "# TYPE" in client.metrics() and client.health()["status"] == "ok"

        broken = tmp_path / "broken.csv"
        broken.write_text("timestamp,open,high,low,close,volume\n1704067200,1,2,0,x,5\n")
        with pytest.raises(JobFailed) as failed:
            client.imports.upload(broken, unique("cl_fail"), kind="ohlcv", progress=False)
        job_id = failed.value.details["job_id"]
        first = client.jobs.get(job_id)
        assert client.jobs.retry(job_id).status in ("PENDING", "RUNNING", "FAILED")
        with pytest.raises(JobFailed):
            client.jobs.wait(job_id, timeout=60)
        # A bad cell is not worth an automatic retry: each run is one attempt, and the put-back job ran again.
        again = client.jobs.get(job_id)
        assert again.status == "FAILED" and again.attempts == 1
        assert first.completed_at is not None and again.completed_at is not None
        assert again.completed_at > first.completed_at


def test_a_dataset_with_two_runs_and_three_simulations_goes_in_one_delete_with_every_measurement(
    stage1: tuple[Client, Server],
) -> None:
    """The desktop's view of a delete: one call, every measurement the records owned gone from the store,
    nothing left for the orphans check; dry run and the 409 first, then a free table and the finished job."""
    client, server = stage1
    slug, frame = unique("cl_gone"), bars(60)
    dataset = client.datasets.create(slug, "SOLUSDT", "1h", ohlcv=frame)
    owned = {dataset.ohlcv_measurement or ""}
    for simulations in (2, 1):
        run = client.runs.log(slug, predictions=predictions(frame, 40))
        owned.add(run.prediction_measurement)
        for _ in range(simulations):
            owned.add(client.simulations.log(run, trades=trades(frame, 40, 4)).trades_measurement)
    created(server, *owned)
    assert len(owned) == 6 and owned <= {m.name for m in client.measurements.list(prefix=slug)}

    with pytest.raises(Conflict) as refused:
        client.datasets.delete(slug)
    assert refused.value.details == {"runs": 2, "simulations": 3}
    preview = client.datasets.delete(slug, cascade=True, dry_run=True)
    assert set(preview["deleted"]["measurements"]) == owned and client.datasets.get(slug).dataset_slug == slug

    gone = client.datasets.delete(slug, cascade=True)
    assert gone["deleted"] | {"measurements": None} == {
        "datasets": 1, "runs": 2, "simulations": 3, "measurements": None
    }
    assert set(gone["deleted"]["measurements"]) == owned
    (drop,) = client.jobs.list(type="measurement_drop", limit=1)
    client.jobs.wait(drop, timeout=60)
    assert not {m.name for m in client.measurements.list(prefix=slug)}
    orphans = client.maintenance.orphans()
    assert orphans["unowned_measurements"] == [] and orphans["missing_measurements"] == []
    assert not [name for name in orphans["free_measurements"] if name.startswith(slug)]
    with pytest.raises(NotFound):
        client.datasets.delete(slug, cascade=True)
    assert client.jobs.delete(drop)["status"] == "COMPLETED"

    own_table = unique("cl_free")
    client.imports.upload(bars(5), own_table, kind="ohlcv", job=False, progress=False)
    assert own_table in client.maintenance.orphans()["free_measurements"]
    assert client.measurements.delete(own_table)["deleted"]["measurements"] == [own_table]
    assert not client.measurements.list(prefix=own_table)


# ---------------------------------------------------------------- a flaky network


class FlakyProxy:
    """An HTTP proxy in front of a server that misbehaves once per rule: it forwards a matching request and
    drops the connection before answering (the write happened, the client never hears of it), or answers
    429/503 itself without forwarding."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.rules: list[tuple[Callable[[str, str], bool], str]] = []
        self.seen: list[tuple[str, str, str | None]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy.seen.append((self.command, self.path, self.headers.get("Idempotency-Key")))
                action = proxy._take(self.command, self.path)
                if action in ("429", "503"):
                    payload = b'{"error":"try later","details":null}'
                    self.send_response(int(action))
                    self.send_header("Retry-After", "1")
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                answer = httpx.request(
                    self.command, proxy.upstream + self.path, headers=headers, content=body, timeout=60
                )
                if action == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in ("content-length", "transfer-encoding", "content-encoding", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_PATCH = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def once(self, action: str, method: str, path_prefix: str) -> None:
        self.rules.append((lambda m, p: m == method and p.startswith(path_prefix), action))

    def _take(self, method: str, path: str) -> str | None:
        for index, (matches, action) in enumerate(self.rules):
            if matches(method, path):
                del self.rules[index]
                return action
        return None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def flaky(embedded: Server) -> Iterator[FlakyProxy]:
    proxy = FlakyProxy(embedded.url)
    yield proxy
    proxy.close()


def test_a_run_whose_answer_was_lost_is_retried_with_the_same_key_and_lands_once(
    flaky: FlakyProxy, embedded_token: str
) -> None:
    with Client(flaky.url, token=embedded_token, backoff=0.05) as client:
        slug, frame = unique("cl_flaky"), bars(200)
        client.datasets.create(slug, "BTCUSDT", "1h", ohlcv=frame)
        flaky.once("drop", "POST", "/api/runs")
        saved = client.runs.log(slug, predictions=predictions(frame, 100), metrics={"sharpe": 2.0})
        posts = [seen for seen in flaky.seen if seen[:2] == ("POST", "/api/runs")]
        assert len(posts) == 2 and posts[0][2] and posts[0][2] == posts[1][2]
        listed = client.runs.list(dataset=slug)
        assert listed.total == 1 and listed[0].run_id == saved.run_id
        assert len(client.runs.predictions(saved)) == 100


def test_429_and_503_are_retried_honouring_retry_after(flaky: FlakyProxy, embedded_token: str) -> None:
    with Client(flaky.url, token=embedded_token, backoff=0.05) as client:
        flaky.once("429", "GET", "/api/datasets")
        flaky.once("503", "GET", "/api/datasets")
        began = time.monotonic()
        assert isinstance(client.datasets.list(limit=1).total, int)
        assert time.monotonic() - began >= 2.0  # two Retry-After: 1 honoured
        assert [s[1].split("?")[0] for s in flaky.seen].count("/api/datasets") == 3


def test_the_walkforward_example_runs_end_to_end(embedded: Server, embedded_token: str) -> None:
    example = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "walkforward_to_dashboard.py")],
        env=clean_env(STAGE1_URL=embedded.url, STAGE1_TOKEN=embedded_token, STAGE1_CONFIG="/nonexistent"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert example.returncode == 0, example.stderr[-2000:]
    assert "best run" in example.stdout and "total_return" in example.stdout


def test_a_bars_read_answered_503_or_cut_is_read_again_whole_and_an_unknown_dataset_is_not_found(
    flaky: FlakyProxy, embedded_token: str
) -> None:
    with Client(flaky.url, token=embedded_token, backoff=0.05) as client:
        slug, frame = unique("cl_read_again"), bars(300)
        client.datasets.create(slug, "BTCUSDT", "1h", ohlcv=frame)
        path = f"/api/datasets/{slug}/ohlcv"
        flaky.once("503", "GET", path)
        flaky.once("drop", "GET", path)
        read = client.datasets.bars(slug)
        assert read["close"].tolist() == frame["close"].tolist()
        assert str(read["timestamp"].dtype) == "datetime64[ms, UTC]"
        assert [seen[1].split("?")[0] for seen in flaky.seen].count(path) == 3
        with pytest.raises(NotFound):
            client.datasets.bars(unique("nope"))
