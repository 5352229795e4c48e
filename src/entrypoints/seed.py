"""`stage1 seed`: fixtures a fresh install can be explored with — the planning documents' sample set."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
import pyarrow as pa
import pyarrow.ipc as ipc

from application import commands, datasets, runs, simulations
from application.series_ports import FrameUpload
from domain.datasets import DatasetChanges
from domain.errors import NotFound
from domain.frames import TRADE_COLUMNS, FrameKind, WriteMode
from domain.runs import Fold, RunDetails
from domain.simulations import SimulationDetails
from entrypoints.cli_errors import ServerRefused
from entrypoints.cli_target import Server
from entrypoints.container import OpenPorts, open_ports
from entrypoints.settings import Settings

HOUR = 3600
START = 1_704_067_200  # 2024-01-01T00:00:00Z

FIXTURES: list[dict[str, Any]] = [
    {
        "slug": "btc_4h",
        "symbol": "BTC",
        "granularity": "4h",
        "step": 4 * HOUR,
        "price": 42_000.0,
        "bars": 600,
        "run_id": UUID("11111111-1111-4111-8111-111111111111"),
        "folds": 3,
        "simulation_id": UUID("33333333-3333-4333-8333-333333333333"),
    },
    {
        "slug": "eth_1h",
        "symbol": "ETH",
        "granularity": "1h",
        "step": HOUR,
        "price": 2_300.0,
        "bars": 800,
        "run_id": UUID("22222222-2222-4222-8222-222222222222"),
        "folds": 2,
        "simulation_id": UUID("44444444-4444-4444-8444-444444444444"),
    },
]


def _ohlcv(fixture: dict[str, Any]) -> pa.Table:
    n, step, base = fixture["bars"], fixture["step"], fixture["price"]
    closes = [base * (1 + 0.05 * math.sin(i / 17) + 0.0004 * i) for i in range(n)]
    opens = [closes[i - 1] if i else base for i in range(n)]
    return pa.table(
        {
            "timestamp": [START + i * step for i in range(n)],
            "open": opens,
            "high": [max(o, c) * 1.002 for o, c in zip(opens, closes, strict=True)],
            "low": [min(o, c) * 0.998 for o, c in zip(opens, closes, strict=True)],
            "close": closes,
            "volume": [100.0 + (i * 37) % 250 for i in range(n)],
        }
    )


def _indicators(ohlcv: pa.Table) -> pa.Table:
    closes = ohlcv.column("close").to_pylist()
    sma = [sum(closes[max(0, i - 19) : i + 1]) / len(closes[max(0, i - 19) : i + 1]) for i in range(len(closes))]
    return pa.table(
        {
            "timestamp": ohlcv.column("timestamp"),
            "sma_20": sma,
            "momentum_10": [closes[i] - closes[max(0, i - 10)] for i in range(len(closes))],
        }
    )


def _folds(fixture: dict[str, Any]) -> list[Fold]:
    n, count, step = fixture["bars"], fixture["folds"], fixture["step"]
    test = n // (count + 2)
    folds = []
    for k in range(count):
        train_start, train_end = 0, test * (k + 2) - 1
        test_start, test_end = train_end + 1, train_end + test
        folds.append(
            Fold(
                fold_number=k + 1,
                train_start=train_start,
                train_end=train_end,
                test_start=test_start,
                test_end=test_end,
                train_start_ts=START + train_start * step,
                train_end_ts=START + train_end * step,
                test_start_ts=START + test_start * step,
                test_end_ts=START + test_end * step,
                thresholds={"long": 0.6, "short": 0.4},
                metrics={"accuracy": 0.52 + 0.01 * k, "auc": 0.55 + 0.01 * k},
            )
        )
    return folds


def _predictions(fixture: dict[str, Any], folds: list[Fold], ohlcv: pa.Table) -> pa.Table:
    closes = ohlcv.column("close").to_pylist()
    rows: dict[str, list[Any]] = {
        k: []
        for k in ("timestamp", "bar_index", "fold_number", "prediction", "target", "threshold_long", "threshold_short")
    }
    for fold in folds:
        assert fold.test_start is not None and fold.test_end is not None
        for i in range(fold.test_start, fold.test_end + 1):
            rows["timestamp"].append(START + i * fixture["step"])
            rows["bar_index"].append(i)
            rows["fold_number"].append(fold.fold_number)
            rows["prediction"].append(0.5 + 0.4 * math.sin(i / 9))
            rows["target"].append(1.0 if i + 1 < len(closes) and closes[i + 1] > closes[i] else 0.0)
            rows["threshold_long"].append(0.6)
            rows["threshold_short"].append(0.4)
    return pa.table(rows)


def _trades(fixture: dict[str, Any], predictions: pa.Table, ohlcv: pa.Table) -> pa.Table:
    closes = ohlcv.column("close").to_pylist()
    rows: dict[str, list[Any]] = {k: [] for k in TRADE_COLUMNS}
    step = fixture["step"]
    for n, row in enumerate(predictions.to_pylist()[::12]):
        i = row["bar_index"]
        if i + 3 >= len(closes):
            break
        side = "long" if row["prediction"] >= 0.5 else "short"
        entry, exit_ = closes[i], closes[i + 3]
        direction = 1 if side == "long" else -1
        pnl = direction * (exit_ - entry) * 0.1 - 0.5
        rows["trade_id"].append(n + 1)
        rows["bar_timestamp"].append(row["timestamp"])
        rows["entry_timestamp"].append(row["timestamp"])
        rows["exit_timestamp"].append(row["timestamp"] + 3 * step)
        rows["side"].append(side)
        rows["entry_price"].append(entry)
        rows["exit_price"].append(exit_)
        rows["quantity"].append(0.1)
        rows["pnl"].append(pnl)
        rows["return_pct"].append(100 * direction * (exit_ - entry) / entry)
        rows["fees"].append(0.5)
        rows["fold_number"].append(row["fold_number"])
    return pa.table(rows)


def _write(folder: Path, name: str, table: pa.Table) -> FrameUpload:
    path = folder / f"{name}.arrow"
    with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return FrameUpload(str(path))


@dataclass(frozen=True, slots=True)
class Planted:
    """One fixture as a client sends it: the dataset, its run and the run's simulation, with their frames."""

    slug: str
    changes: DatasetChanges
    ohlcv: pa.Table
    indicators: pa.Table
    run_id: UUID
    run: RunDetails
    predictions: pa.Table
    simulation_id: UUID
    simulation: SimulationDetails
    trades: pa.Table


def planted(fixture: dict[str, Any]) -> Planted:
    ohlcv = _ohlcv(fixture)
    folds = _folds(fixture)
    predictions = _predictions(fixture, folds, ohlcv)
    return Planted(
        slug=fixture["slug"],
        changes=DatasetChanges(
            symbol=fixture["symbol"], granularity=fixture["granularity"], source="seed", metadata={"fixture": True}
        ),
        ohlcv=ohlcv,
        indicators=_indicators(ohlcv),
        run_id=fixture["run_id"],
        run=RunDetails(
            target_column="direction_next_bar",
            feature_columns=["sma_20", "momentum_10"],
            walk_config={"train_bars": "expanding", "test_bars": fixture["bars"] // (fixture["folds"] + 2)},
            hyperparameters={"max_depth": 4, "eta": 0.1, "n_estimators": 200, "objective": "binary:logistic"},
            summary_metrics={"accuracy": 0.53, "auc": 0.56},
            folds=folds,
        ),
        predictions=predictions,
        simulation_id=fixture["simulation_id"],
        simulation=SimulationDetails(
            config={"initial_capital": 10_000.0, "fee_per_trade": 0.5}, summary_metrics={"sharpe": 1.1}
        ),
        trades=_trades(fixture, predictions, ohlcv),
    )


def _summary(plants: list[Planted]) -> dict[str, Any]:
    return {
        "datasets": [plant.slug for plant in plants],
        "runs": [str(plant.run_id) for plant in plants],
        "simulations": [str(plant.simulation_id) for plant in plants],
    }


async def load_fixtures(ports: OpenPorts) -> dict[str, Any]:
    """Idempotent: datasets upsert by slug; runs and simulations have fixed ids and are skipped when present."""
    upsert_dataset = ports.bind(datasets.upsert_dataset)
    save_run = ports.bind(runs.save_run)
    save_simulation = ports.bind(simulations.save_simulation)
    get_run = ports.bind(runs.get_run)
    get_simulation = ports.bind(simulations.get_simulation)
    plants = [planted(fixture) for fixture in FIXTURES]
    with tempfile.TemporaryDirectory(prefix="stage1-seed-") as tmp:
        folder = Path(tmp)
        for plant in plants:
            frames = {
                FrameKind.OHLCV: _write(folder, f"{plant.slug}_ohlcv", plant.ohlcv),
                FrameKind.INDICATORS: _write(folder, f"{plant.slug}_ind", plant.indicators),
            }
            await upsert_dataset(commands.UpsertDataset(plant.slug, plant.changes, frames, WriteMode.REPLACE))
            if not await _exists(get_run, plant.run_id):
                predictions = _write(folder, f"{plant.slug}_pred", plant.predictions)
                await save_run(
                    commands.SaveRun(
                        dataset_ref=plant.slug, details=plant.run, run_id=plant.run_id, predictions=predictions
                    )
                )
            if not await _exists(get_simulation, plant.simulation_id):
                trades = _write(folder, f"{plant.slug}_trades", plant.trades)
                await save_simulation(
                    commands.SaveSimulation(
                        run_ref=str(plant.run_id),
                        details=plant.simulation,
                        simulation_id=plant.simulation_id,
                        trades=trades,
                    )
                )
    return _summary(plants)


async def seed_fixtures(settings: Settings) -> dict[str, Any]:
    async with open_ports(settings) as ports:
        return await load_fixtures(ports)


def seed_through(server: Server) -> dict[str, Any]:
    """The same fixtures through a running server's API, as a client would send them (multipart with Arrow)."""
    plants = [planted(fixture) for fixture in FIXTURES]
    for plant in plants:
        metadata = {"dataset_slug": plant.slug, **_wire(plant.changes)}
        server.call(
            "POST",
            "/api/datasets",
            params={"mode": "replace"},
            files=_parts({"metadata": metadata}, {"ohlcv": plant.ohlcv, "indicators": plant.indicators}),
        )
        if not _found(server, f"/api/runs/{plant.run_id}"):
            run = {"dataset_slug": plant.slug, "run_id": str(plant.run_id), **_wire(plant.run)}
            server.call("POST", "/api/runs", files=_parts({"run": run}, {"predictions": plant.predictions}))
        if not _found(server, f"/api/simulations/{plant.simulation_id}"):
            simulation = {"run_id": str(plant.run_id), "simulation_id": str(plant.simulation_id)}
            simulation.update(_wire(plant.simulation))
            server.call(
                "POST", "/api/simulations", files=_parts({"simulation": simulation}, {"trades": plant.trades})
            )
    return _summary(plants)


def _wire(details: object) -> dict[str, Any]:
    """A domain object's fields as the wire has them (same names); unset ones and what the service keeps
    to itself (`declared_fold_count`, sent as `fold_count`) left out."""
    fields: dict[str, Any] = msgspec.to_builtins(details)
    return {key: value for key, value in fields.items() if value is not None and key != "declared_fold_count"}


def _parts(records: dict[str, Any], frames: dict[str, pa.Table]) -> dict[str, tuple[str, bytes, str]]:
    parts = {name: (f"{name}.json", msgspec.json.encode(body), "application/json") for name, body in records.items()}
    for name, table in frames.items():
        sink = pa.BufferOutputStream()
        with ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        parts[name] = (f"{name}.arrow", sink.getvalue().to_pybytes(), "application/vnd.apache.arrow.file")
    return parts


def _found(server: Server, path: str) -> bool:
    try:
        server.call("GET", path)
    except ServerRefused as exc:
        if str(exc).startswith("404"):
            return False
        raise
    return True


async def _exists(get: Callable[[str], Awaitable[object]], ref: UUID) -> bool:
    try:
        await get(str(ref))
    except NotFound:
        return False
    return True
