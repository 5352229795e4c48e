"""`stage1 import`: upload a file through a running server, optionally as a job with a progress bar."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from entrypoints.cli_errors import ServerRefused, describe_response

CHUNK = 1024 * 1024
CONTENT_TYPES = {
    ".parquet": "application/vnd.apache.parquet",
    ".gz": "application/gzip",
    ".arrow": "application/vnd.apache.arrow.file",
    ".arrows": "application/vnd.apache.arrow.stream",
}


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def import_through_api(
    url: str, token: str | None, file: Path, measurement: str, kind: str, mode: str, run_async: bool
) -> int:
    console = Console(stderr=True)
    headers = {"Content-Type": CONTENT_TYPES.get(file.suffix.lower(), "text/csv")}
    if token:
        headers["X-Stage1-Token"] = token
    params = {"measurement": measurement, "kind": kind, "mode": mode}
    route = "/api/questdb/import/async" if run_async else "/api/questdb/import"
    with httpx.Client(base_url=url, headers=headers, timeout=httpx.Timeout(30.0, read=None)) as client:
        response = client.post(route, params=params, content=_chunks(file))
        if response.status_code >= 400:
            raise ServerRefused(describe_response(response))
        body: dict[str, Any] = response.json()
        if not run_async:
            console.print(
                f"[green]{body['rows_written']} rows[/] into {escape(body['measurement'])} in {body['duration_ms']} ms"
            )
            return 0
        return _follow(client, console, body["poll_url"])


def _follow(client: httpx.Client, console: Console, poll_url: str) -> int:
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("queued", total=None)
        while True:
            response = client.get(poll_url)
            if response.status_code >= 400:
                raise ServerRefused(describe_response(response))
            job = response.json()
            progress.update(task, description=job["status"].lower(), completed=job["progress"] or 0, total=job["total"])
            if job["status"] == "COMPLETED":
                result = job["result"] or {}
                progress.stop()
                into = escape(str(result.get("measurement")))
                console.print(f"[green]{result.get('rows_written')} rows[/] into {into}")
                return 0
            if job["status"] in ("FAILED", "CANCELLED"):
                progress.stop()
                console.print(f"[red]{job['status']}[/]: {escape(str(job.get('error')))}")
                return 1
            time.sleep(0.25)

