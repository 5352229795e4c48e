"""Scale-out at CI size: the scale benchmark's own checks (none lost, none run twice, every import's rows and
every run landed, both API processes' feeds identical, health answering) on 2 serve + 3 worker processes, with
the benchmark's own private QuestDB (small append pages), as the full-size run uses it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.integration.serve_processes import need

ROOT = Path(__file__).resolve().parents[2]


def test_two_api_processes_and_three_workers_run_every_job_once_and_show_the_same_feed(tmp_path: Path) -> None:
    for name in ("STAGE1_TEST_POSTGRES_URL", "STAGE1_TEST_QUESTDB_JAR"):
        need(name)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, str(ROOT / "benchmarks" / "scale_benchmark.py"), "--jobs", "300", "--rounds", "1"]
    command += ["--max-seconds", "240", "--out", str(tmp_path)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=420, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    report = (tmp_path / "scale.md").read_text()
    assert "300 jobs in" in report and "all checks passed" in report
    assert "on a private QuestDB with 64 KB append pages" in report and "MB each" in report
    assert "Load average at start" in report and "Load average at end" in report
