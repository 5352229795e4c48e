"""QuestDB's own routes for the time-series benchmark: /exec, /imp, /exp, and the official ILP client."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from questdb import Sender

# The pattern /imp needs for `2020-01-01T00:00:00.000000Z` (it has none for epoch numbers).
ISO_PATTERN = "yyyy-MM-ddTHH:mm:ss.SSSUUUZ"
CHUNK = 1 << 20


class QuestDB:
    def __init__(self, http_url: str) -> None:
        self.http_url = http_url.rstrip("/")
        self.client = httpx.Client(base_url=self.http_url, timeout=httpx.Timeout(300.0, connect=5.0))

    def close(self) -> None:
        self.client.close()

    def exec(self, sql: str) -> dict[str, Any]:
        body: dict[str, Any] = self.client.get("/exec", params={"query": sql}).json()
        if "error" in body:
            raise RuntimeError(f"QuestDB: {body['error']} ({sql[:200]})")
        return body

    def count(self, table: str) -> int:
        return int(self.exec(f'SELECT count() FROM "{table}"')["dataset"][0][0])

    def wait_for_rows(self, table: str, rows: int, timeout: float = 300.0) -> None:
        """Read-your-writes as the service promises it: return once a count sees every row."""
        deadline = time.monotonic() + timeout
        delay = 0.005
        while True:
            try:
                if self.count(table) >= rows:
                    return
            except RuntimeError as exc:
                if "does not exist" not in str(exc):
                    raise
            if time.monotonic() > deadline:
                raise TimeoutError(f"{table} did not show {rows} rows within {timeout:g} s")
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def create_table_like(self, table: str, template: str) -> None:
        """`table` with the DDL of `template` (same types, partitioning, WAL and dedup keys)."""
        ddl = str(self.exec(f'SHOW CREATE TABLE "{template}"')["dataset"][0][0])
        quoted = f"'{template}'"
        if quoted not in ddl:
            raise RuntimeError(f"unexpected SHOW CREATE TABLE answer: {ddl[:200]}")
        self.exec(ddl.replace(quoted, f'"{table}"', 1))

    def drop(self, table: str) -> None:
        self.exec(f'DROP TABLE IF EXISTS "{table}"')

    def tables(self, prefix: str) -> list[str]:
        rows = self.exec("SELECT table_name FROM tables()")["dataset"]
        return [str(row[0]) for row in rows if str(row[0]).startswith(prefix)]

    def columns(self, table: str) -> dict[str, str]:
        rows = self.exec(f"SELECT \"column\", \"type\" FROM table_columns('{table}')")["dataset"]
        return {str(name): str(kind) for name, kind in rows}

    def imp(self, table: str, path: Path, schema: list[dict[str, str]]) -> dict[str, Any]:
        """/imp of a CSV file into `table` (multipart: `schema` then `data`), the file streamed."""
        with path.open("rb") as handle:
            response = self.client.post(
                "/imp",
                params={"name": table, "timestamp": "timestamp", "partitionBy": "MONTH", "fmt": "json",
                        "forceHeader": "true"},
                files={"schema": (None, json.dumps(schema)), "data": (path.name, handle, "text/csv")},
            )
        body: dict[str, Any] = response.json()
        if response.status_code != 200 or body.get("status") != "OK":
            raise RuntimeError(f"/imp failed: {str(body)[:300]}")
        return body

    def exp_bytes(self, sql: str) -> tuple[int, int, float]:
        """/exp of `sql`, downloaded and discarded; answers (bytes, lines, seconds until the answer started)."""
        size = lines = 0
        started = time.perf_counter()
        with self.client.stream("GET", "/exp", params={"query": sql},
                                headers={"Accept-Encoding": "identity"}) as response:
            first_byte = time.perf_counter() - started
            response.raise_for_status()
            for chunk in response.iter_raw(CHUNK):
                size += len(chunk)
                lines += chunk.count(b"\n")
        return size, lines, first_byte


def read_csv_frame(path: Path) -> pd.DataFrame:
    """The file as the client would load it: pyarrow's CSV reader, then pandas with real timestamps."""
    table = pa_csv.read_csv(path)
    frame = table.to_pandas()
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], unit="s", utc=True)
    return frame


def sender_conf(http_url: str) -> str:
    address = http_url.split("://", 1)[-1].rstrip("/")
    return f"http::addr={address};"


def send_frame(conf: str, table: str, frame: pd.DataFrame) -> None:
    """The official client's dataframe path as its documentation shows it; flushed on leaving."""
    with Sender.from_conf(conf) as sender:
        sender.dataframe(frame, table_name=table, at="timestamp", symbols=False)
        sender.flush()


def arrow_rows(table: pa.Table) -> int:
    return int(table.num_rows)
