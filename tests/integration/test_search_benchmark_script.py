"""The search benchmark runs end to end at a tiny size (without MLflow), so it cannot rot unnoticed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.jobs_support import postgres_server_url

ROOT = Path(__file__).resolve().parents[2]


def test_the_search_benchmark_loads_serves_and_reports_every_measurement_at_a_tiny_size(tmp_path: Path) -> None:
    env = {**os.environ, "STAGE1_TEST_POSTGRES_URL": postgres_server_url()}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    command = [sys.executable, str(ROOT / "benchmarks" / "search_benchmark.py"), "--runs", "120"]
    command += ["--simulations", "30", "--rounds", "1", "--repeats", "2", "--pages", "2", "--seconds", "0.2"]
    command += ["--no-mlflow", "--out", str(tmp_path)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = (tmp_path / "search.md").read_text()
    for label in ("F1", "F2", "F3", "F4", "F5"):
        assert f"| {label} " in report
    assert "page 2 through next_cursor" in report
    assert "raw asyncpg loop of the same 2 statements" in report
    assert "Load average at start" in report and "Load average at end" in report
