"""Dashboard benchmark: the dataset page on a large dataset in headless Chromium.

    python benchmarks/dashboard_benchmark.py [--bars 1000000] [--zooms 8] [--rounds 5] [--url http://127.0.0.1:8000]

Without `--url` it starts `stage1 serve` (the embedded default: SQLite + DuckDB, auth off on loopback) in a
temporary folder and deletes it afterwards. It uploads `--bars` one-minute OHLCV bars as one Parquet file
(`POST /api/datasets`, multipart), opens `/#/datasets/<slug>` in Debian's Chromium (Playwright with
`executable_path`; `STAGE1_TEST_CHROMIUM` overrides the path) and measures:

1. first chart painted: milliseconds from navigation start of a cold page (a new browser context: no cached
   script or data) until the first chart is on screen (the page stamps `performance.now()` on the chart's
   div in the frame after the chart library took the data); budget 1,500 ms in the median of the rounds;
2. zoom steps: each step zooms the x axis to half the current span around a random centre, through the
   page's own `zoomTo`, where a wheel or drag zoom ends, and times it until the chart was redrawn with the
   bars fetched for the new span — including the page's debounce; budget 300 ms in the median of the steps
   that fetched (a step inside bars already held at the right bucket only moves the view);
3. points held: the sum of every series' points after every step; budget 10,000.

`--rounds` cold page loads (5 by default), each with its zoom steps; best, median and worst are printed with
the load average at start and end.

The machine is shared: run it at full size only when it is quiet. Prints a JSON report and writes it to
`benchmarks/out/dashboard.json`; exits 1 when a budget is missed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
from playwright.sync_api import Browser, sync_playwright

START = 1_704_067_200  # 2024-01-01T00:00:00Z
BUDGET_FIRST_PAINT_MS = 1500
BUDGET_ZOOM_MS = 300
BUDGET_POINTS = 10_000
OUT = Path(__file__).parent / "out"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def embedded_server() -> Iterator[str]:
    folder = Path(tempfile.mkdtemp(prefix="stage1-dashboard-bench-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAGE1_")}
    env["STAGE1_RATE_LIMIT_PER_MINUTE"] = "100000"
    stage1 = Path(sys.executable).parent / "stage1"
    process = subprocess.Popen(
        [str(stage1), "serve", "--port", str(port)], cwd=folder, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            raise SystemExit("stage1 serve did not become healthy")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def minute_bars(count: int) -> bytes:
    index = pa.array(range(count), pa.int64())
    close = [100.0 + 10 * ((i % 1440) / 1440) + (i % 17) * 0.1 for i in range(count)]
    table = pa.table(
        {
            "timestamp": pa.compute.add(pa.compute.multiply(index, 60), START),
            "open": close,
            "high": [c + 0.5 for c in close],
            "low": [c - 0.5 for c in close],
            "close": close,
            "volume": pa.compute.cast(pa.compute.bit_wise_and(index, 63), pa.float64()),
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def upload(url: str, slug: str, bars: int) -> float:
    started = time.monotonic()
    metadata = {"dataset_slug": slug, "symbol": "BENCH", "granularity": "1m"}
    answer = httpx.post(
        f"{url}/api/datasets",
        files={
            "metadata": (None, json.dumps(metadata), "application/json"),
            "ohlcv": ("bars.parquet", minute_bars(bars), "application/vnd.apache.parquet"),
        },
        timeout=1800,
    )
    if answer.status_code not in (200, 201):
        raise SystemExit(f"upload failed: {answer.status_code} {answer.text[:500]}")
    return time.monotonic() - started


ZOOM_STEP_JS = r"""
async ([from, to]) => {
  const div = document.getElementById('price-chart');
  const started = performance.now();
  const fetched = await div.priceChart.zoomTo(from / 1000, to / 1000);
  const ms = performance.now() - started;
  const points = div.data.reduce((sum, held) => sum + held.x.length, 0);
  // The page's own split of the step: "fetch N ms, draw M ms" in its status line.
  const split = /fetch (\d+) ms, draw (\d+) ms/.exec(document.getElementById('chart-status').textContent) || [];
  return {ms, fetched, points, bars: div.data[0].x.length, sample_by: div.dataset.sampleBy,
          fetch_ms: fetched ? Number(split[1]) : 0, draw_ms: fetched ? Number(split[2]) : 0};
}
"""


def one_round(browser: Browser, url: str, slug: str, bars: int, zooms: int, seed: int) -> dict[str, Any]:
    """A cold page (its own browser context: no cached script or data) from navigation to the last zoom."""
    rng = random.Random(seed)
    foreign: list[str] = []
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.on("request", lambda r: None if r.url.startswith(url) or r.url.startswith("data:") else foreign.append(r.url))
    page.goto(f"{url}/#/datasets/{slug}", wait_until="commit")
    page.wait_for_function("document.getElementById('price-chart')?.dataset.renders === '1'", timeout=120_000)
    first = page.evaluate(
        """() => { const d = document.getElementById('price-chart');
             return {ms: Number(d.dataset.firstPaintMs), bars: d.data[0].x.length,
                     points: d.data.reduce((s, t) => s + t.x.length, 0), sample_by: d.dataset.sampleBy}; }"""
    )
    low, high = float(START * 1000), float((START + (bars - 1) * 60) * 1000)
    steps = []
    for _ in range(zooms):
        span = (high - low) / 2
        if span < 30 * 60_000:  # thirty bars: nothing finer to fetch
            break
        centre = rng.uniform(low + span / 2, high - span / 2)
        low, high = centre - span / 2, centre + span / 2
        steps.append(page.evaluate(ZOOM_STEP_JS, [low, high]))
    context.close()
    return {"first": first, "steps": steps, "foreign": foreign}


def spread(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"best": round(ordered[0]), "median": round(statistics.median(ordered)), "worst": round(ordered[-1])}


def measure(url: str, slug: str, bars: int, zooms: int, rounds: int, seed: int) -> dict[str, Any]:
    chromium = os.environ.get("STAGE1_TEST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise SystemExit("no Chromium: apt-get install chromium (or set STAGE1_TEST_CHROMIUM)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        results = [one_round(browser, url, slug, bars, zooms, seed + index) for index in range(rounds)]
        browser.close()
    first_ms = [result["first"]["ms"] for result in results]
    steps = [step for result in results for step in result["steps"]]
    fetched = [step["ms"] for step in steps if step["fetched"]]
    points = [result["first"]["points"] for result in results] + [step["points"] for step in steps]
    foreign = [url for result in results for url in result["foreign"]]
    first_paint = spread(first_ms)
    zoom = spread(fetched) if fetched else None
    return {
        "bars": bars,
        "rounds": rounds,
        "first_paint_ms": first_paint,
        "zoom_step_ms": zoom,  # steps that fetched bars; the others only move the view over bars held
        "zoom_steps": len(steps),
        "zoom_steps_fetched": len(fetched),
        "zoom_step_worst_of_each_round": [round(max(s["ms"] for s in r["steps"])) for r in results if r["steps"]],
        "first_paint_detail": [result["first"] for result in results],
        "points_max": max(points),
        "foreign_requests": foreign,
        "within_budget": {
            "first_paint_median": first_paint["median"] <= BUDGET_FIRST_PAINT_MS,
            "zoom_median": zoom is None or zoom["median"] <= BUDGET_ZOOM_MS,
            "points": max(points) <= BUDGET_POINTS,
            "no_foreign_requests": not foreign,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--zooms", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5, help="cold page loads, each with its zoom steps")
    parser.add_argument("--url", help="a running server (auth off) instead of a fresh embedded one")
    parser.add_argument("--seed", type=int, default=20261130)
    args = parser.parse_args()
    slug = f"bench_{secrets.token_hex(3)}"
    load_start = os.getloadavg()

    def run(url: str) -> dict[str, Any]:
        upload_s = upload(url, slug, args.bars)
        report = measure(url, slug, args.bars, args.zooms, args.rounds, args.seed)
        report["upload_s"] = round(upload_s, 1)
        return report

    if args.url:
        report = run(args.url.rstrip("/"))
    else:
        with embedded_server() as url:
            report = run(url)
    report["load_average"] = {"start": [round(x, 2) for x in load_start], "end": [round(x, 2) for x in os.getloadavg()]}
    OUT.mkdir(exist_ok=True)
    (OUT / "dashboard.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    budgets = report["within_budget"]
    sys.exit(0 if all(budgets.values()) else 1)


if __name__ == "__main__":
    main()
