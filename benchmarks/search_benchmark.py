"""Search benchmark: five filters through `GET /api/runs` of a real `stage1 serve` on Postgres, against
MLflow's `search_runs` over the same runs on the same server, and the metadata read path's own cost.

    python benchmarks/search_benchmark.py [--runs 100000] [--simulations N] [--rounds 5] [--repeats 20]
        [--pages 200] [--seconds 3] [--cache] [--drop-cache] [--no-mlflow]

Needs STAGE1_TEST_POSTGRES_URL (a server where the user may CREATE DATABASE; read from .testenv/env.sh
when it is not set). See benchmarks/README.md for what it measures and how. The markdown report is
printed and written to benchmarks/out/search.md.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import search_load as load
import search_mlflow_side as mlflow_side
import search_throughput as throughput
from search_cases import CASES, PAGING, Case
from ts_server import free_port

from adapters.sql import migrate
from entrypoints.http.app import create_app
from entrypoints.settings import Settings

HERE = Path(__file__).parent
OUT = HERE / "out"
LIMIT = 50


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def spread(values: list[float]) -> str:
    return f"{min(values):.1f} / {statistics.median(values):.1f} / {max(values):.1f}"


def server_url() -> str:
    url = os.environ.get("STAGE1_TEST_POSTGRES_URL")
    env_file = HERE.parent / ".testenv" / "env.sh"
    if not url and env_file.exists():
        for line in env_file.read_text().splitlines():
            if line.startswith("export STAGE1_TEST_POSTGRES_URL="):
                url = line.split("=", 1)[1].strip().strip('"')
    if not url:
        raise SystemExit("STAGE1_TEST_POSTGRES_URL is not set: scripts/services.sh up, then . .testenv/env.sh")
    return url


# ---------------------------------------------------------------- the Stage1 server


@contextmanager
def stage1_serve(url: str, log_path: Path) -> Iterator[httpx.Client]:
    """`stage1 serve` in a child process on `url` (auth off, no worker, no rate limit), and a client."""
    port = free_port()
    env = {
        **os.environ,
        "STAGE1_DATABASE_URL": url,
        "STAGE1_TIMESERIES": "memory",
        "STAGE1_AUTH_ENABLED": "false",
        "STAGE1_IN_PROCESS_WORKER": "false",
        "STAGE1_RATE_LIMIT_PER_MINUTE": str(10**9),
        "STAGE1_HOST": "127.0.0.1",
        "STAGE1_PORT": str(port),
        "STAGE1_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-c", "from entrypoints.cli import main; main()", "serve"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=log, cwd=log_path.parent)
        try:
            client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120.0)
            deadline = time.monotonic() + 90
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"stage1 serve exited with {process.returncode}; see {log_path}")
                try:
                    if client.get("/api/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"stage1 serve did not answer within 90 s; see {log_path}")
                time.sleep(0.2)
            yield client
            client.close()
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def timed_get(client: httpx.Client, params: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    answer = client.get("/api/runs", params=params)
    elapsed = (time.perf_counter() - started) * 1000
    if answer.status_code != 200:
        raise RuntimeError(f"GET /api/runs {params} answered {answer.status_code}: {answer.text}")
    body: dict[str, Any] = answer.json()
    return elapsed, body


def case_params(case: Case) -> dict[str, Any]:
    return {"filter": case.filter, "order_by": case.order_by, "limit": LIMIT}


def sort_values(client: httpx.Client, case: Case) -> list[Any]:
    """The sort metric down page 1 (projected with fields=, so the timed requests stay plain lists)."""
    _, body = timed_get(client, {**case_params(case), "fields": f"metrics.{case.sort_metric}"})
    return [run["summary_metrics"].get(case.sort_metric) for run in body["runs"]]


# ---------------------------------------------------------------- the measurements


def filter_rounds(
    client: httpx.Client, mlflow: mlflow_side.Worker | None, rounds: int, repeats: int
) -> tuple[list[str], dict[str, Any]]:
    """Every case `repeats` times per round on both sides, interleaved; answers the table and checks."""
    stage1: dict[str, list[list[float]]] = {case.label: [] for case in CASES}
    peer: dict[str, list[list[float]]] = {case.label: [] for case in CASES}
    matches, agree = {}, {}
    for case in CASES:  # warm-up, and the check that both answer the same page
        _, body = timed_get(client, case_params(case))
        timed_get(client, case_params(case))
        matches[case.label] = len(body["runs"])
        if mlflow is not None and case.mlflow_filter is not None:
            answer = mlflow.search(case, LIMIT, 2)
            agree[case.label] = answer["values"] == sort_values(client, case)
    for _ in range(rounds):
        for case in CASES:
            stage1[case.label].append([timed_get(client, case_params(case))[0] for _ in range(repeats)])
            if mlflow is not None and case.mlflow_filter is not None:
                peer[case.label].append(mlflow.search(case, LIMIT, repeats)["ms"])
    lines = [
        "| filter | page 1 | Stage1 p50 ms | Stage1 p95 ms best / median / worst | MLflow p50 ms "
        "| MLflow p95 ms best / median / worst | MLflow ÷ Stage1 (p50, p95) | same page |",
        "|---|---|---|---|---|---|---|---|",
    ]
    worst_p95, ratios = 0.0, []
    for case in CASES:
        samples = [t for round_ in stage1[case.label] for t in round_]
        p95s = [percentile(round_, 0.95) for round_ in stage1[case.label]]
        worst_p95 = max(worst_p95, statistics.median(p95s))
        row = f"| {case.label}: `{case.filter}` by `{case.order_by}` | {matches[case.label]} | "
        row += f"{statistics.median(samples):.1f} | {spread(p95s)} | "
        if peer[case.label]:
            peer_samples = [t for round_ in peer[case.label] for t in round_]
            peer_p95s = [percentile(round_, 0.95) for round_ in peer[case.label]]
            ratio = statistics.median(peer_samples) / statistics.median(samples)
            ratio95 = statistics.median(peer_p95s) / statistics.median(p95s)
            ratios.append(ratio)
            row += f"{statistics.median(peer_samples):.1f} | {spread(peer_p95s)} | {ratio:.1f}x, {ratio95:.1f}x | "
            row += f"{'yes' if agree[case.label] else 'NO'} |"
        elif mlflow is None:
            row += "not run | | | |"
        else:
            row += f"cannot express: {case.mlflow_cannot} | | | |"
        lines.append(row)
    return lines, {"worst_median_p95": worst_p95, "ratios": ratios}


def paging_rounds(client: httpx.Client, pages: int, rounds: int, repeats: int) -> tuple[list[str], float]:
    """Page 1 against page `pages` of one filter reached through next_cursor, timed alternately."""
    params = case_params(PAGING)
    _, body = timed_get(client, params)
    cursor, reached = None, 1
    while body["next_cursor"] and reached < pages:
        cursor = body["next_cursor"]
        _, body = timed_get(client, {**params, "after": cursor})
        reached += 1
    later = {**params, "after": cursor} if cursor else params
    first_times, later_times = [], []
    for _ in range(rounds):
        for _ in range(repeats):
            first_times.append(timed_get(client, params)[0])
            later_times.append(timed_get(client, later)[0])
    first, last = statistics.median(first_times), statistics.median(later_times)
    ratio = last / first
    return [
        f"Keyset paging, `{PAGING.filter}` by `{PAGING.order_by}`, limit {LIMIT}: page 1 p50 {first:.1f} ms "
        f"(p95 {percentile(first_times, 0.95):.1f}), page {reached} through next_cursor p50 {last:.1f} ms "
        f"(p95 {percentile(later_times, 0.95):.1f}): ratio {ratio:.2f} (goal <= 1.5)."
    ], ratio


def served_rate(client: httpx.Client, seconds: float) -> float:
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        answer = client.get("/api/runs", params={"limit": throughput.PAGE})
        if answer.status_code != 200:
            raise RuntimeError(f"GET /api/runs?limit=100 answered {answer.status_code}")
        done += 1
    return done / (time.perf_counter() - started)


def throughput_lines(url: str, seconds: float, rounds: int, over_http: float) -> tuple[list[str], float]:
    settings = Settings(
        database_url=url,
        timeseries="memory",
        auth_enabled=False,
        in_process_worker=False,
        rate_limit_per_minute=10**9,
        _env_file=None,
    )
    rates = asyncio.run(throughput.measure(create_app(settings), url, seconds, rounds))
    app, raw = statistics.median(rates["app"]), statistics.median(rates["raw"])
    ratio = app / raw
    return [
        f"Metadata read path, `GET /api/runs?limit={throughput.PAGE}` driven through ASGI in this process: "
        f"{spread(rates['app'])} requests/s (lowest / median / highest of {rounds} x {seconds:g} s); a raw asyncpg "
        f"loop of the same {int(rates['statements'][0])} statements in the same process: {spread(rates['raw'])} "
        f"pages/s. Ratio of medians {ratio:.2f} (goal >= 0.5). Through `stage1 serve` and an httpx client: "
        f"{over_http:.0f} requests/s."
    ], ratio


# ---------------------------------------------------------------- the databases


def stage1_database(server: str, args: argparse.Namespace) -> tuple[str, str, bool]:
    tail = "_" + hashlib.sha1(migrate.head().encode()).hexdigest()[:6]
    name = load.database_name("searchbench_stage1", args.runs, args.simulations, args.seed, args.cache, tail)
    url = load.ensure_database(server, name)
    if args.cache and asyncio.run(load.is_loaded(url)):
        return name, url, False
    if args.cache:  # a load that did not finish: start again from an empty database
        migrate.drop_database(server, name)
        url = load.ensure_database(server, name)
    seconds = asyncio.run(load.load_stage1(url, args.runs, args.simulations, args.seed))
    asyncio.run(load.mark_loaded(url, seconds))
    return name, url, True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--simulations", type=int, default=None, help="default: as many as runs")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=20, help="requests per filter per round")
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=3.0, help="per throughput round")
    parser.add_argument("--cache", action="store_true", help="keep the loaded databases and reuse them")
    parser.add_argument("--drop-cache", action="store_true", help="drop the cached databases of these sizes")
    parser.add_argument("--no-mlflow", action="store_true", help="Stage1 only (no MLflow virtualenv needed)")
    parser.add_argument("--mlflow-venv", type=Path, default=mlflow_side.VENV)
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the report and the logs")
    args = parser.parse_args()
    args.simulations = args.runs if args.simulations is None else args.simulations
    server = server_url()
    args.out.mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()
    if args.drop_cache:
        for name in [*mlflow_side.cached_names(args), stage1_database_name(args)]:
            migrate.drop_database(server, name)
    report = [
        f"# Search benchmark: {args.runs:,} runs (20 hyperparameters, 10 metrics, 5 folds each), "
        f"{args.simulations:,} simulations",
        "",
        f"Load average at start: {' '.join(f'{x:.2f}' for x in load_start)} ({os.cpu_count()} cores).",
    ]
    with ExitStack() as databases:
        started = time.perf_counter()
        name, url, loaded = stage1_database(server, args)
        if not args.cache:
            databases.callback(migrate.drop_database, server, name)
        report.append(
            f"Stage1 database `{name}`: "
            + (f"loaded by COPY in {time.perf_counter() - started:.1f} s." if loaded else "reused from the cache.")
        )
        with ExitStack() as processes:
            mlflow = None
            if not args.no_mlflow:
                mlflow = processes.enter_context(mlflow_side.started(server, args, report, databases))
            client = processes.enter_context(stage1_serve(url, args.out / "search-server.log"))
            report += ["", f"## Five filters, limit {LIMIT}, {args.rounds} rounds x {args.repeats} requests", ""]
            lines, found = filter_rounds(client, mlflow, args.rounds, args.repeats)
            report += lines
            if mlflow is not None:
                cannot = [case.label for case in CASES if case.mlflow_filter is None]
                report += ["", f"MLflow cannot express at all: {', '.join(cannot)}."]
            report += ["", "## Keyset paging", ""]
            paging, page_ratio = paging_rounds(client, args.pages, args.rounds, max(3, args.repeats // 4))
            report += paging
            over_http = served_rate(client, args.seconds)
        report += ["", "## Metadata read path", ""]
        read_path, read_ratio = throughput_lines(url, args.seconds, args.rounds, over_http)
        report += read_path
    ratios = found["ratios"]
    report += [
        "",
        "## Goals",
        "",
        f"- p95 < 50 ms for each filter: worst median p95 {found['worst_median_p95']:.1f} ms.",
        f"- page {args.pages} within 1.5x of page 1: {page_ratio:.2f}.",
        f"- MLflow ÷ Stage1 >= 10x: {min(ratios):.1f}x at the least." if ratios else "- MLflow: not run.",
        f"- read path >= 0.5x raw asyncpg: {read_ratio:.2f}.",
        "",
        f"Load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}.",
    ]
    text = "\n".join(report) + "\n"
    (args.out / "search.md").write_text(text)
    print(text)


def stage1_database_name(args: argparse.Namespace) -> str:
    tail = "_" + hashlib.sha1(migrate.head().encode()).hexdigest()[:6]
    return load.database_name("searchbench_stage1", args.runs, args.simulations, args.seed, True, tail)


if __name__ == "__main__":
    main()
