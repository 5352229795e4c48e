"""Search benchmark: `GET /api/runs?filter=...&order_by=...` over many runs on the test Postgres.

    python benchmarks/search_benchmark.py [--runs 100000] [--repeats 30] [--pages 200] [--seconds 10]

Needs STAGE1_TEST_POSTGRES_URL (a server where the user may CREATE DATABASE). Creates and migrates a fresh
database, fills it straight through asyncpg COPY (`--runs` runs over 5 datasets, each with 20 hyperparameters,
10 summary metrics, 5 folds with metrics, one tag in three), then drives the app in process (the ASGI app that
`stage1 serve` runs, auth off) and drops the database at the end. Measures:

1. five filters with `order_by` on a metric and `limit=50`: p50/p95 of `GET /api/runs` (goal: p95 < 50 ms);
2. keyset paging: page 1 vs page `--pages` of one filter through `next_cursor` (goal: within 1.5x);
3. MLflow (optional, `pip install mlflow` in a separate environment: it is no dependency of the service):
   the same runs logged into an MLflow SQL store on the same server, `search_runs` with the AND-only
   equivalents of the filters (goal: stage1 at least 10x faster); skipped with a note when mlflow is absent;
4. throughput of `GET /api/runs?limit=100` against a raw asyncpg loop of the list's SELECT, `--seconds` each.

The markdown report is printed and written to `benchmarks/out/search.md`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from adapters.jobs.pg import asyncpg_dsn
from adapters.sql import migrate
from entrypoints.http.app import create_app
from entrypoints.settings import Settings

OUT = Path(__file__).parent / "out"
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
    "grow_policy_depth",
    "num_parallel_tree",
    "max_leaves",
    "seed",
    "early_stop",
    "lr_decay",
)
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
FILTERS = (
    ("metrics.sharpe > 1.5 AND params.max_depth IN (3, 5)", "metrics.sharpe desc"),
    ("dataset.symbol = 'BTCUSD' AND metrics.sortino > 1", "metrics.sortino desc"),
    ("status = 'FAILED' AND params.eta < 0.1", "metrics.cagr desc"),
    ("tags.owner = 'ana' AND metrics.win_rate > 0.5", "metrics.sharpe desc"),
    ("params.subsample >= 0.8 AND metrics.max_drawdown > -0.2 AND fold_count = 5", "metrics.calmar asc"),
)
# The same filters in MLflow's language (AND only; params are strings there, dataset symbol a tag).
MLFLOW_FILTERS = (
    ("metrics.sharpe > 1.5 and params.max_depth IN ('3', '5')", "metrics.sharpe DESC"),
    ("tags.symbol = 'BTCUSD' and metrics.sortino > 1", "metrics.sortino DESC"),
    ("attributes.status = 'FAILED' and metrics.eta_metric < 0.1", "metrics.cagr DESC"),
    ("tags.owner = 'ana' and metrics.win_rate > 0.5", "metrics.sharpe DESC"),
    ("metrics.subsample_metric >= 0.8 and metrics.max_drawdown > -0.2", "metrics.calmar ASC"),
)


def run_rows(count: int, datasets: list[tuple[uuid.UUID, str]], rng: random.Random) -> list[dict[str, Any]]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(count):
        dataset_id, slug = datasets[i % len(datasets)]
        params = {
            name: rng.choice([3, 4, 5, 6, 8]) if name == "max_depth" else round(rng.random(), 3) for name in PARAMS
        }
        metrics = {name: round(rng.gauss(0.5 if name != "max_drawdown" else -0.2, 0.8), 4) for name in METRICS}
        rows.append(
            {
                "run_id": uuid.uuid4(),
                "dataset_id": dataset_id,
                "dataset_slug": slug,
                "prediction_measurement": f"{slug}_wf_{i}",
                "status": rng.choice(["COMPLETED"] * 8 + ["FAILED"] * 2),
                "hyperparameters": params,
                "summary_metrics": metrics,
                "tags": {"owner": rng.choice(["ana", "bo", "cy"])} if i % 3 == 0 else {},
                "created_at": start + timedelta(seconds=i * 7),
            }
        )
    return rows


async def fill(url: str, runs: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        now = datetime.now(UTC)
        datasets = [(uuid.uuid4(), f"{symbol.lower()}_1h") for symbol in SYMBOLS]
        await conn.copy_records_to_table(
            "stage1_datasets",
            columns=[
                "dataset_id",
                "dataset_slug",
                "symbol",
                "granularity",
                "ohlcv_measurement",
                "indicator_measurement",
                "metadata",
                "created_at",
                "updated_at",
            ],
            records=[
                (d, slug, symbol, "1h", f"{slug}_ohlcv", f"{slug}_ind", "{}", now, now)
                for (d, slug), symbol in zip(datasets, SYMBOLS, strict=True)
            ],
        )
        rows = run_rows(runs, datasets, rng)
        columns = [
            "run_id",
            "dataset_id",
            "dataset_slug",
            "prediction_measurement",
            "status",
            "feature_columns",
            "walk_config",
            "hyperparameters",
            "summary_metrics",
            "fold_count",
            "created_at",
            "tags",
        ]
        await conn.copy_records_to_table(
            "walkforward_runs",
            columns=columns,
            records=[
                (
                    r["run_id"],
                    r["dataset_id"],
                    r["dataset_slug"],
                    r["prediction_measurement"],
                    r["status"],
                    "[]",
                    json.dumps({"folds": 5}),
                    json.dumps(r["hyperparameters"]),
                    json.dumps(r["summary_metrics"]),
                    5,
                    r["created_at"],
                    json.dumps(r["tags"]),
                )
                for r in rows
            ],
        )
        await conn.copy_records_to_table(
            "walkforward_folds",
            columns=["run_id", "fold_number", "thresholds", "metrics"],
            records=[
                (r["run_id"], f, "{}", json.dumps({"auc": round(rng.random(), 3)})) for r in rows for f in range(5)
            ],
        )
        await conn.execute("ANALYZE")
        return rows
    finally:
        await conn.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def timed_get(client: Any, params: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    answer = await client.get("/api/runs", params=params)
    elapsed = (time.perf_counter() - started) * 1000
    assert answer.status_code == 200, answer.text
    return elapsed, answer.json()


async def filters_report(client: Any, repeats: int) -> list[str]:
    lines = ["| filter | order_by | matches on page 1 | p50 ms | p95 ms |", "|---|---|---|---|---|"]
    for expression, order in FILTERS:
        params = {"filter": expression, "order_by": order, "limit": 50}
        await timed_get(client, params)  # warm the statement caches
        times = []
        for _ in range(repeats):
            elapsed, body = await timed_get(client, params)
            times.append(elapsed)
        lines.append(
            f"| `{expression}` | `{order}` | {len(body['runs'])} | "
            f"{statistics.median(times):.1f} | {percentile(times, 0.95):.1f} |"
        )
    return lines


async def paging_report(client: Any, pages: int) -> list[str]:
    params: dict[str, Any] = {"filter": "metrics.sharpe > -100", "order_by": "metrics.sharpe desc", "limit": 50}
    first, body = await timed_get(client, params)
    first, body = await timed_get(client, params)
    last, reached = first, 1
    while body["next_cursor"] and reached < pages:
        last, body = await timed_get(client, {**params, "after": body["next_cursor"]})
        reached += 1
    return [
        f"Keyset paging, `{params['filter']}` by `{params['order_by']}`: page 1 {first:.1f} ms, "
        f"page {reached} {last:.1f} ms (ratio {last / first:.2f}; goal <= 1.5)."
    ]


async def throughput_report(client: Any, url: str, seconds: float) -> list[str]:
    done, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        await timed_get(client, {"limit": 100})
        done += 1
    api = done / seconds
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        statement = await conn.prepare("SELECT * FROM walkforward_runs ORDER BY created_at DESC, run_id DESC LIMIT 100")
        raw, deadline = 0, time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            await statement.fetch()
            raw += 1
    finally:
        await conn.close()
    return [
        f"`GET /api/runs?limit=100`: {api:.0f} requests/s; raw asyncpg loop of the list SELECT: "
        f"{raw / seconds:.0f} queries/s (service at {api / (raw / seconds):.0%} of the raw loop)."
    ]


def mlflow_report(server: str, rows: list[dict[str, Any]], repeats: int) -> list[str]:
    try:
        import mlflow  # noqa: F401  (benchmark-only, optional)
        from mlflow.entities import Metric, Param, RunTag
        from mlflow.tracking import MlflowClient
    except ImportError:
        return ["MLflow: skipped (mlflow is not installed; `pip install mlflow` in a separate environment)."]
    name = f"stage1_mlflow_{uuid.uuid4().hex[:8]}"
    url = migrate.create_database(server, name)
    try:
        client = MlflowClient(tracking_uri=asyncpg_dsn(url).replace("postgresql://", "postgresql+psycopg2://"))
        experiment = client.create_experiment("bench")
        for row in rows:
            run = client.create_run(
                experiment, tags={"symbol": row["dataset_slug"].split("_")[0].upper(), **row["tags"]}
            )
            params = [Param(k, str(v)) for k, v in row["hyperparameters"].items()]
            metrics = [Metric(k, v, 0, 0) for k, v in row["summary_metrics"].items()]
            metrics += [
                Metric("eta_metric", row["hyperparameters"]["eta"], 0, 0),
                Metric("subsample_metric", row["hyperparameters"]["subsample"], 0, 0),
            ]
            client.log_batch(run.info.run_id, metrics=metrics, params=params, tags=[RunTag("k", "v")])
            client.set_terminated(run.info.run_id, status="FAILED" if row["status"] == "FAILED" else "FINISHED")
        lines = ["| MLflow filter | p95 ms |", "|---|---|"]
        for expression, order in MLFLOW_FILTERS:
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                client.search_runs([experiment], expression, order_by=[order], max_results=50)
                times.append((time.perf_counter() - started) * 1000)
            lines.append(f"| `{expression}` | {percentile(times, 0.95):.1f} |")
        return lines
    finally:
        migrate.drop_database(server, name)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    server = os.environ.get("STAGE1_TEST_POSTGRES_URL")
    if not server:
        raise SystemExit("STAGE1_TEST_POSTGRES_URL is not set: scripts/services.sh up, then source .testenv/env.sh")
    name = f"stage1_search_bench_{uuid.uuid4().hex[:8]}"
    url = migrate.create_database(server, name)
    try:
        migrate.upgrade(url)
        started = time.perf_counter()
        rows = await fill(url, args.runs, args.seed)
        report = [
            f"# Search benchmark: {args.runs:,} runs, 20 parameters, 10 metrics, 5 folds each",
            f"(filled in {time.perf_counter() - started:.1f} s)",
            "",
        ]
        settings = Settings(
            database_url=url,
            timeseries="memory",
            auth_enabled=False,
            in_process_worker=False,
            rate_limit_per_minute=10**9,
            _env_file=None,
        )
        async with AsyncTestClient(app=create_app(settings)) as client:
            report += await filters_report(client, args.repeats)
            report += ["", *await paging_report(client, args.pages), ""]
            report += [*await throughput_report(client, url, args.seconds), ""]
        report += mlflow_report(server, rows, args.repeats)
    finally:
        migrate.drop_database(server, name)
    text = "\n".join(report) + "\n"
    OUT.mkdir(exist_ok=True)
    (OUT / "search.md").write_text(text)
    print(text)


if __name__ == "__main__":
    asyncio.run(main())
