"""The search benchmark's runs and simulations, generated the same way by Stage1's loader and by MLflow's.

Standard library only: `search_mlflow.py` imports it from MLflow's own virtualenv. Every row comes from
its own seeded generator, so both sides stream the same rows without holding 100,000 of them in memory.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

SYMBOLS = ("BTCUSD", "ETHUSD", "SOLUSD", "XRPUSD", "ADAUSD")
PARAMS = (
    "max_depth",
    "eta",
    "subsample",
    "colsample_bytree",
    "min_child_weight",
    "gamma",
    "lambda",
    "alpha",
    "n_estimators",
    "max_bin",
    "scale_pos_weight",
    "max_delta_step",
    "colsample_bylevel",
    "colsample_bynode",
    "grow_policy",
    "num_parallel_tree",
    "max_leaves",
    "seed",
    "early_stop",
    "lr_decay",
)
INTEGER_PARAMS = {
    "max_depth": (3, 4, 5, 6, 8),
    "n_estimators": (100, 200, 400, 800),
    "max_bin": (64, 128, 256),
    "num_parallel_tree": (1, 2, 4),
    "max_leaves": (0, 16, 31, 63),
    "seed": tuple(range(10)),
    "early_stop": (10, 20, 50),
}
TEXT_PARAMS = {"grow_policy": ("depthwise", "lossguide")}
METRICS = (
    "sharpe",
    "sortino",
    "max_drawdown",
    "cagr",
    "win_rate",
    "profit_factor",
    "calmar",
    "volatility",
    "hit_ratio",
    "auc",
)
FOLDS = 5
OWNERS = ("ana", "bo", "cy")
STATUSES = ("COMPLETED",) * 16 + ("FAILED",) * 3 + ("RUNNING",)
START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Run:
    index: int
    run_id: uuid.UUID
    symbol: str
    status: str
    hyperparameters: dict[str, Any]
    summary_metrics: dict[str, float]
    fold_metrics: list[dict[str, float]]
    tags: dict[str, str]
    created_at: datetime

    @property
    def dataset_slug(self) -> str:
        return f"{self.symbol.lower()}_1h"


@dataclass(frozen=True, slots=True)
class Simulation:
    index: int
    simulation_id: uuid.UUID
    run: Run
    config: dict[str, Any]
    summary_metrics: dict[str, float]
    buckets: dict[str, tuple[int, int, float]]  # bucket -> (trades, wins, total pnl)


def _rng(seed: int, kind: int, index: int) -> random.Random:
    return random.Random(seed * 1_000_003 + kind * 1_000_000_007 + index)


def _param(name: str, rng: random.Random) -> Any:
    if name in INTEGER_PARAMS:
        return rng.choice(INTEGER_PARAMS[name])
    if name in TEXT_PARAMS:
        return rng.choice(TEXT_PARAMS[name])
    return round(rng.random(), 3)


def run(seed: int, index: int) -> Run:
    rng = _rng(seed, 1, index)
    metrics = {name: round(rng.gauss(-0.2 if name == "max_drawdown" else 0.5, 0.8), 4) for name in METRICS}
    return Run(
        index=index,
        run_id=uuid.UUID(int=rng.getrandbits(128), version=4),
        symbol=SYMBOLS[index % len(SYMBOLS)],
        status=rng.choice(STATUSES),
        hyperparameters={name: _param(name, rng) for name in PARAMS},
        summary_metrics=metrics,
        fold_metrics=[{"auc": round(rng.random(), 3), "sharpe": round(rng.gauss(0.5, 1), 3)} for _ in range(FOLDS)],
        tags={"owner": rng.choice(OWNERS)} if index % 3 == 0 else {},
        created_at=START + timedelta(seconds=index * 7),
    )


def runs(seed: int, count: int) -> Iterator[Run]:
    return (run(seed, index) for index in range(count))


def simulation(seed: int, index: int, runs_count: int) -> Simulation:
    rng = _rng(seed, 2, index)
    parent = run(seed, index % runs_count)
    buckets = {}
    for bucket in ("long", "short"):
        trades = rng.randint(5, 200)
        buckets[bucket] = (trades, rng.randint(0, trades), round(rng.gauss(0, 500), 2))
    long, short = buckets["long"], buckets["short"]
    buckets["all"] = (long[0] + short[0], long[1] + short[1], round(long[2] + short[2], 2))
    return Simulation(
        index=index,
        simulation_id=uuid.UUID(int=rng.getrandbits(128), version=4),
        run=parent,
        config={"initial_capital": 10_000.0, "fee_bps": rng.choice([1, 2, 5]), "side": rng.choice(["long", "both"])},
        summary_metrics={
            "total_return": round(rng.gauss(0.02, 0.1), 4),
            "sharpe": round(rng.gauss(0.3, 0.9), 4),
            "max_drawdown": round(-abs(rng.gauss(0.1, 0.05)), 4),
        },
        buckets=buckets,
    )


def simulations(seed: int, count: int, runs_count: int) -> Iterator[Simulation]:
    return (simulation(seed, index, runs_count) for index in range(count))


def chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
