"""Path (c) of the import benchmark: the best an import through QuestDB's `/imp` could do behind Stage1.

The service's body has epoch-second times, and `/imp` takes a timestamp only with a text pattern, so a
service forwarding to `/imp` has to rewrite the times; it also has to check every value first (a bad row
must leave nothing behind). This does the least of that work, with no HTTP server and no staging table:
the body is read in 8 MB blocks as text columns (pyarrow, its own threads), every column is checked by a
cast, the times become `yyyy-MM-dd HH:mm:ss.SSSUUU` text, and each block goes to `/imp` as its own request
(QuestDB refuses a chunked request body, so one request cannot start before its size is known) while the
next block is prepared. If this cannot reach the goal against (a), no `/imp`-based service path can.
"""

from __future__ import annotations

import io
import json
import queue
import threading
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

BLOCK_BYTES = 8 << 20
TEXT_PATTERN = "yyyy-MM-dd HH:mm:ss.SSSUUU"
COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")
PLAIN = pa_csv.WriteOptions(quoting_style="none")


def _blocks(path: Path) -> Any:
    """Each block of the file as /imp-ready CSV text (header included), every value checked."""
    reader = pa_csv.open_csv(
        path,
        read_options=pa_csv.ReadOptions(block_size=BLOCK_BYTES),
        convert_options=pa_csv.ConvertOptions(column_types={name: pa.string() for name in COLUMNS}),
    )
    for batch in reader:
        seconds = pc.cast(batch.column(0), pa.int64())
        for index in range(1, len(COLUMNS)):
            pc.cast(batch.column(index), pa.float64())
        stamps = pc.cast(pc.cast(pc.multiply(seconds, 1_000_000), pa.timestamp("us")), pa.string())
        text = pa.RecordBatch.from_arrays([stamps, *batch.columns[1:]], names=list(COLUMNS))
        sink = io.BytesIO()
        pa_csv.write_csv(text, sink, PLAIN)
        yield sink.getvalue()


def forward(client: httpx.Client, table: str, path: Path) -> int:
    """Imports the epoch-second CSV at `path` into `table` through /imp as above; answers the rows imported."""
    schema = json.dumps(
        [{"name": "timestamp", "type": "TIMESTAMP", "pattern": TEXT_PATTERN}]
        + [{"name": name, "type": "DOUBLE"} for name in COLUMNS[1:]]
    )
    params = {
        "name": table,
        "timestamp": "timestamp",
        "partitionBy": "MONTH",
        "fmt": "json",
        "forceHeader": "true",
        "atomicity": "abort",
    }
    ready: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=2)

    def produce() -> None:
        try:
            for block in _blocks(path):
                ready.put(block)
            ready.put(None)
        except BaseException as exc:  # handed to the sending side, which raises it
            ready.put(exc)

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    imported = 0
    try:
        while (block := ready.get()) is not None:
            if isinstance(block, BaseException):
                raise block
            response = client.post(
                "/imp", params=params, files={"schema": (None, schema), "data": ("block.csv", block, "text/csv")}
            )
            answer: dict[str, Any] = response.json()
            if response.status_code != 200 or answer.get("rowsRejected"):
                raise RuntimeError(f"/imp refused a block: {str(answer)[:300]}")
            imported += int(answer["rowsImported"])
    finally:
        while producer.is_alive():
            with suppress(queue.Empty):
                ready.get(timeout=0.1)
        producer.join()
    return imported
