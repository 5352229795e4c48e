"""MLflow's worker for the search benchmark. Runs in MLflow's own virtualenv (see search_mlflow_side.py),
never in Stage1's; imports only MLflow, psycopg2 and the standard library (and search_data).

    search_mlflow.py load  --uri postgresql+psycopg2://... --runs N --seed S
    search_mlflow.py serve --uri ... --runs N --seed S     (JSON lines in, JSON lines out)

`load` lets MLflow create its schema (its SQL store runs its own migrations on an empty database), then
writes the benchmark's runs straight into MLflow's tables by COPY: logging 100,000 runs through
`log_batch` would take hours. The rows are what `create_run` + `log_batch` + `set_terminated` write:
a `runs` row, its params (as strings), its tags (the owner tag, the dataset symbol as a tag, and
`mlflow.runName` / `mlflow.user`), and each metric in `metrics` and `latest_metrics`.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
from typing import Any

import mlflow
import psycopg2
import search_data as data
from mlflow.tracking import MlflowClient

EXPERIMENT = "searchbench"
MARKER = "searchbench_loaded"
STATUSES = {"COMPLETED": "FINISHED", "FAILED": "FAILED", "RUNNING": "RUNNING"}


def libpq_dsn(uri: str) -> str:
    return "postgresql://" + uri.split("://", 1)[1]


def experiment_id(client: MlflowClient) -> str:
    found = client.get_experiment_by_name(EXPERIMENT)
    return found.experiment_id if found is not None else client.create_experiment(EXPERIMENT)


def _copy(cursor: Any, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(["\\N" if value is None else value for value in row])
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer)


def _rows(chunk: list[data.Run], experiment: str) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {"runs": [], "params": [], "tags": [], "metrics": [], "latest": []}
    for run in chunk:
        ident = run.run_id.hex
        millis = int(run.created_at.timestamp() * 1000)
        end = None if run.status == "RUNNING" else millis + 60_000
        name = f"run-{run.index}"
        out["runs"].append(
            (
                ident,
                name,
                "LOCAL",
                "bench",
                "",
                "bench",
                STATUSES[run.status],
                millis,
                end,
                "",
                "active",
                f"file:///mlruns/{experiment}/{ident}/artifacts",
                experiment,
            )
        )
        out["params"] += [(key, str(value), ident) for key, value in run.hyperparameters.items()]
        tags = {**run.tags, "symbol": run.symbol, "dataset_slug": run.dataset_slug}
        tags |= {"mlflow.runName": name, "mlflow.user": "bench"}
        out["tags"] += [(key, value, ident) for key, value in tags.items()]
        for key, value in run.summary_metrics.items():
            out["metrics"].append((key, value, millis, ident, 0, False))
            out["latest"].append((key, value, millis, 0, False, ident))
    return out


def load(uri: str, runs: int, seed: int) -> dict[str, Any]:
    client = MlflowClient(tracking_uri=uri)
    experiment = experiment_id(client)  # the first call creates MLflow's schema
    started = time.perf_counter()
    with psycopg2.connect(libpq_dsn(uri)) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (MARKER,))
        if cursor.fetchone()[0]:
            return {"skipped": True, "seconds": 0.0, "mlflow": mlflow.__version__}
        for chunk in data.chunks(data.runs(seed, runs), 5_000):
            rows = _rows(chunk, experiment)
            _copy(
                cursor,
                "runs",
                (
                    "run_uuid",
                    "name",
                    "source_type",
                    "source_name",
                    "entry_point_name",
                    "user_id",
                    "status",
                    "start_time",
                    "end_time",
                    "source_version",
                    "lifecycle_stage",
                    "artifact_uri",
                    "experiment_id",
                ),
                rows["runs"],
            )
            _copy(cursor, "params", ("key", "value", "run_uuid"), rows["params"])
            _copy(cursor, "tags", ("key", "value", "run_uuid"), rows["tags"])
            _copy(cursor, "metrics", ("key", "value", "timestamp", "run_uuid", "step", "is_nan"), rows["metrics"])
            _copy(cursor, "latest_metrics", ("key", "value", "timestamp", "step", "is_nan", "run_uuid"), rows["latest"])
        conn.commit()
    seconds = time.perf_counter() - started
    vacuum = psycopg2.connect(libpq_dsn(uri))
    try:
        vacuum.autocommit = True  # VACUUM runs outside a transaction only
        with vacuum.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
            cursor.execute(f"CREATE TABLE {MARKER} (seconds double precision)")
            cursor.execute(f"INSERT INTO {MARKER} VALUES (%s)", (seconds,))
    finally:
        vacuum.close()
    return {"skipped": False, "seconds": seconds, "mlflow": mlflow.__version__}


def serve(uri: str) -> None:
    client = MlflowClient(tracking_uri=uri)
    experiment = experiment_id(client)
    for line in sys.stdin:
        ask = json.loads(line)
        times, found = [], []
        for _ in range(ask["repeats"]):
            started = time.perf_counter()
            found = client.search_runs(
                [experiment], ask["filter"], order_by=[ask["order_by"]], max_results=ask["limit"]
            )
            times.append((time.perf_counter() - started) * 1000)
        values = [run.data.metrics.get(ask["metric"]) for run in found]
        print(json.dumps({"ms": times, "values": values}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["load", "serve"])
    parser.add_argument("--uri", required=True)
    parser.add_argument("--runs", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    args = parser.parse_args()
    if args.action == "load":
        print(json.dumps(load(args.uri, args.runs, args.seed)), flush=True)
    else:
        serve(args.uri)


if __name__ == "__main__":
    main()
