"""The column names of a local file, read from its header only, so `stage1 import` can tell its kind."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

HEAD_BYTES = 1 << 16


def file_columns(path: Path) -> list[str]:
    """Names from a CSV (or CSV.gz) header line, or a Parquet / Arrow IPC schema; [] if they can't be read."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return list(pq.read_schema(path).names)
        if suffix == ".arrow":
            return list(ipc.open_file(pa.memory_map(str(path))).schema.names)
        if suffix == ".arrows":
            with pa.OSFile(str(path)) as handle:
                return list(ipc.open_stream(handle).schema.names)
        opener = gzip.open if suffix == ".gz" else open
        with opener(path, "rb") as handle:
            head = handle.read(HEAD_BYTES)
    except (OSError, pa.ArrowException, EOFError):
        return []
    first = io.StringIO(head.decode("utf-8", errors="replace")).readline()
    return next(csv.reader([first]), [])
