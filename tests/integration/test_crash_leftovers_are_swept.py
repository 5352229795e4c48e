"""A `stage1 serve` killed with SIGKILL leaves no lasting trace: the spool file of an upload it was receiving
and of a save it was checking are swept when it starts again, and the measurement name that killed save had
reserved does not block the same save sent again."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
from tests.integration.serve_processes import kill, serve, stop, wait_healthy

START = 1704067200
LEASE = {"name_lease_seconds": "1"}


def predictions(count: int) -> str:
    header = "timestamp,bar_index,fold_number,prediction,target\n"
    return header + "".join(f"{START + i * 60},{i},1,0.5,1\n" for i in range(count))


def spool(data_dir: Path) -> list[Path]:
    folder = data_dir / "uploads"
    return sorted(folder.glob("upload-*")) if folder.exists() else []


def landing(data_dir: Path, name: str) -> bool:
    with sqlite3.connect(data_dir / "stage1.db") as db:
        row = db.execute("SELECT state FROM stage1_measurement_names WHERE name = ?", (name,)).fetchone()
    return row is not None and row[0] == "landing"


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def in_background(send: Callable[[], object]) -> threading.Thread:
    def quietly() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the server died under it: that is the point
            send()

    thread = threading.Thread(target=quietly, daemon=True)
    thread.start()
    return thread


def test_a_server_killed_mid_upload_and_mid_save_leaves_nothing_that_lasts(tmp_path: Path) -> None:
    data_dir = tmp_path
    process, url = serve(data_dir, **LEASE)
    processes = [process]
    release = threading.Event()
    try:
        wait_healthy(url, process)
        created = httpx.post(f"{url}/api/datasets", json={"dataset_slug": "btc_1h", "granularity": "1m"}, timeout=30)
        assert created.status_code == 201, created.text

        def body() -> Iterator[bytes]:
            yield b"timestamp,close\n" + b"1704067200,1.5\n" * 80_000  # more than the spool's 1 MiB chunk
            release.wait(60)  # the rest never comes: the server dies first

        in_background(lambda: httpx.post(
            f"{url}/api/questdb/import", params={"measurement": "half_sent"}, content=body(),
            headers={"Content-Type": "text/csv"}, timeout=60,
        ))  # fmt: skip
        wait_for(lambda: any(path.stat().st_size > 0 for path in spool(data_dir)), "the upload to be spooled")
        run = {"dataset_slug": "btc_1h", "prediction_measurement": "btc_wf_mine", "predictions_csv": predictions(100_000)}
        in_background(lambda: httpx.post(f"{url}/api/runs", json=run, timeout=120))
        wait_for(lambda: landing(data_dir, "btc_wf_mine"), "the save to reserve its measurement name")
        kill(process)
        assert len(spool(data_dir)) >= 2 and landing(data_dir, "btc_wf_mine")  # or this test proves nothing

        process, url = serve(data_dir, **LEASE)
        processes.append(process)
        wait_healthy(url, process)
        assert spool(data_dir) == []
        time.sleep(1.2)  # the dead save's lease lapses (if the start-up sweep has not released it already)
        again = httpx.post(f"{url}/api/runs", json=run | {"predictions_csv": predictions(50)}, timeout=60)
        assert again.status_code == 201, again.text
        assert again.json()["prediction_measurement"] == "btc_wf_mine" and again.json()["questdb_rows_written"] == 50
    finally:
        release.set()
        stop(processes)
