"""MLflow's side of the search benchmark, seen from the benchmark: its own virtualenv (MLflow is no
dependency of Stage1 and never enters the project's environment), its own database on the same Postgres
server, and a worker process (`search_mlflow.py`) in that virtualenv that loads the runs and times
`MlflowClient.search_runs` when asked, so that both sides are measured in the same run, round by round.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any

import search_load as load
from search_cases import Case
from sqlalchemy.engine import make_url

from adapters.sql import migrate

HERE = Path(__file__).parent
VENV = HERE / ".mlflow" / "venv"  # git-ignored
WORKER = HERE / "search_mlflow.py"
REQUIREMENTS = ("mlflow==3.17.2", "psycopg2-binary")


def python_of(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_venv(venv: Path) -> Path:
    """MLflow's virtualenv, created with `python -m venv` and pip the first time."""
    python = python_of(venv)
    found = python.exists() and subprocess.run([python, "-c", "import mlflow, psycopg2"], capture_output=True)
    if found and found.returncode == 0:
        return python
    print(f"creating {venv} with {' '.join(REQUIREMENTS)} (once; a few minutes)", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", *REQUIREMENTS], check=True)
    return python


def database_name(args: argparse.Namespace, cache: bool) -> str:
    tail = "_" + hashlib.sha1(" ".join(REQUIREMENTS).encode()).hexdigest()[:6]
    return load.database_name("searchbench_mlflow", args.runs, 0, args.seed, cache, tail)


def cached_names(args: argparse.Namespace) -> list[str]:
    return [database_name(args, True)]


def tracking_uri(url: str) -> str:
    return make_url(url).set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)


class Worker:
    """`search_mlflow.py serve`: one JSON line asked, one answered."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._process = process

    def search(self, case: Case, limit: int, repeats: int) -> dict[str, Any]:
        ask = {
            "filter": case.mlflow_filter,
            "order_by": case.mlflow_order_by,
            "metric": case.sort_metric,
            "limit": limit,
            "repeats": repeats,
        }
        stdin: IO[str] | None = self._process.stdin
        stdout: IO[str] | None = self._process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(json.dumps(ask) + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise RuntimeError("the MLflow worker stopped; see benchmarks/out/search-mlflow.log")
        answer: dict[str, Any] = json.loads(line)
        return answer


@contextmanager
def started(server: str, args: argparse.Namespace, report: list[str], databases: ExitStack) -> Iterator[Worker]:
    python = ensure_venv(args.mlflow_venv)
    name = database_name(args, args.cache)
    url = load.ensure_database(server, name)
    if not args.cache:
        databases.callback(migrate.drop_database, server, name)
    elif not asyncio.run(load.is_loaded(url)):  # a load that did not finish: start again
        migrate.drop_database(server, name)
        url = load.ensure_database(server, name)
    uri = tracking_uri(url)
    common = ["--uri", uri, "--runs", str(args.runs), "--seed", str(args.seed)]
    log_path = args.out / "search-mlflow.log"
    with log_path.open("a") as log:
        loaded = subprocess.run(
            [python, str(WORKER), "load", *common], check=True, stdout=subprocess.PIPE, stderr=log, text=True
        )
        facts = json.loads(loaded.stdout.strip().splitlines()[-1])
        version = facts["mlflow"]
        how = "reused from the cache" if facts["skipped"] else f"loaded in {facts['seconds']:.1f} s"
        report.append(
            f"MLflow {version} (own virtualenv) database `{name}`: schema created by MLflow, {args.runs:,} runs "
            f"(params, tags, metrics and latest_metrics rows by COPY into MLflow's tables), {how}."
        )
        process = subprocess.Popen(
            [python, str(WORKER), "serve", *common],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            yield Worker(process)
        finally:
            if process.stdin is not None:
                process.stdin.close()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
