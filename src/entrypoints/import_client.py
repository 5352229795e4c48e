"""`stage1 import`: upload a file through a running server, optionally as a job with a progress bar, or as a
dry run that prints what the import would write."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from adapters.frames.formats import MediaType
from entrypoints.cli_errors import ServerRefused, describe_response
from entrypoints.import_preview import print_preview

CHUNK = 1024 * 1024
CONTENT_TYPES: dict[str, str] = {
    ".parquet": MediaType.PARQUET,
    ".gz": MediaType.GZIP,
    ".arrow": MediaType.ARROW_FILE,
    ".arrows": MediaType.ARROW_STREAM,
}


@dataclass(frozen=True, slots=True)
class ImportRequest:
    file: Path
    measurement: str
    kind: str
    mode: str
    run_async: bool = False
    dry_run: bool = False
    on_error: str = "fail"
    granularity: str | None = None

    def params(self) -> dict[str, str]:
        params = {"measurement": self.measurement, "kind": self.kind, "mode": self.mode, "on_error": self.on_error}
        if self.dry_run:
            params["dry_run"] = "true"
        if self.granularity:
            params["granularity"] = self.granularity
        return params


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def import_through_api(url: str, token: str | None, request: ImportRequest) -> int:
    console = Console(stderr=True)
    headers = {"Content-Type": CONTENT_TYPES.get(request.file.suffix.lower(), MediaType.CSV)}
    if token:
        headers["X-Stage1-Token"] = token
    route = "/api/questdb/import/async" if request.run_async and not request.dry_run else "/api/questdb/import"
    with httpx.Client(base_url=url, headers=headers, timeout=httpx.Timeout(30.0, read=None)) as client:
        response = client.post(route, params=request.params(), content=_chunks(request.file))
        if response.status_code >= 400:
            raise ServerRefused(describe_response(response))
        body: dict[str, Any] = response.json()
        if request.dry_run:
            print_preview(Console(), body)
            return 0
        if route.endswith("/async"):
            return _follow(client, console, body["poll_url"])
        console.print(
            f"[green]{body['rows_written']} rows[/] into {escape(body['measurement'])} in {body['duration_ms']} ms"
        )
        _print_rejected(console, body)
        return 0


class RowsPerSecond(ProgressColumn):
    """Rows a second, from rich's own moving estimate."""

    def render(self, task: Task) -> Text:
        speed = task.speed
        return Text("" if speed is None else f"{speed:,.0f} rows/s", style="progress.data.speed")


def _follow(client: httpx.Client, console: Console, poll_url: str) -> int:
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f} rows"),
        RowsPerSecond(),
        TaskProgressColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("queued", total=None)
        phase = "queued"
        while True:
            response = client.get(poll_url)
            if response.status_code >= 400:
                raise ServerRefused(describe_response(response))
            job = response.json()
            now = _phase(job)
            if now != phase:
                # The check pass counts rows with no total; the write starts over toward the counted total.
                progress.reset(task, description=now, total=job["total"], completed=job["progress"] or 0)
                phase = now
            progress.update(task, completed=job["progress"] or 0, total=job["total"])
            if job["status"] == "COMPLETED":
                result = job["result"] or {}
                progress.stop()
                into = escape(str(result.get("measurement")))
                console.print(f"[green]{result.get('rows_written')} rows[/] into {into}")
                _print_rejected(console, result)
                return 0
            if job["status"] in ("FAILED", "CANCELLED"):
                progress.stop()
                console.print(f"[red]{job['status']}[/]: {escape(str(job.get('error')))}")
                return 1
            time.sleep(0.25)


def _phase(job: dict[str, Any]) -> str:
    if job["status"] != "RUNNING":
        return str(job["status"]).lower()
    message = str(job.get("message") or "")
    return "checking" if "checked" in message else "writing" if "written" in message else "running"


def _print_rejected(console: Console, body: dict[str, Any]) -> None:
    if body.get("rejected_rows"):
        console.print(f"[yellow]{body['rejected_rows']} rows skipped[/]")
        for item in body.get("rejected") or []:
            where = f"line {item['line']}" if item.get("line") is not None else f"row {item['row']}"
            console.print(f"  {where}: {escape(str(item['reason']))}")
