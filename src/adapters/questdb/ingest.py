"""Frames into QuestDB over ILP/HTTP with the official client, pipelined.

Each chunk is serialized into its own ILP buffer (the client reads the Arrow memory behind a
pyarrow-backed pandas frame directly, without a per-row pass) while the previous chunk is being flushed,
so client work and server work overlap. Each flush is one HTTP request and one WAL transaction.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import AsyncIterator, Sequence
from contextlib import suppress
from typing import Any, Final
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
import pandas as pd  # type: ignore[import-untyped]
import pyarrow as pa
from questdb import QuestDBError, QuestDBErrorCode, Sender

from domain.errors import InvalidInput, StoreUnavailable, UpstreamError
from domain.frames import TIMESTAMP

# A flush this size takes QuestDB a fraction of a second; bigger ones stop paying off and cost memory.
TARGET_CHUNK_BYTES: Final = 32 * 1024 * 1024
MAX_CHUNK_ROWS: Final = 250_000
MIN_CHUNK_ROWS: Final = 10_000
MAX_BUFFER_BYTES: Final = 512 * 1024 * 1024

# A sender per write is deliberate (see `send`); the client's advice to reuse senders does not apply.
warnings.filterwarnings("ignore", message="questdb.Sender: Detected a burst of reconnections", category=UserWarning)

_UNREACHABLE: Final = frozenset(
    {QuestDBErrorCode.SocketError, QuestDBErrorCode.CouldNotResolveAddr, QuestDBErrorCode.ConnectTimeout}
)


def ilp_conf(http_url: str, ilp: str | None = None, request_timeout: float = 60.0) -> str:
    """The client configuration: ILP over HTTP on the REST port, another ILP/HTTP `host:port`, or a full
    `http::`/`https::` configuration string.

    Only HTTP will do: its flush answers once the rows are committed to the WAL, which the read-your-writes
    wait relies on, and it reports bad rows; ILP over TCP does neither.
    """
    if ilp and "::" in ilp:
        if not ilp.startswith(("http::", "https::")):
            raise ValueError("the QuestDB store ingests over ILP/HTTP only (http:: or https:: configuration)")
        return ilp
    if ilp:
        address = ilp
    else:
        parts = urlsplit(http_url)
        address = f"{parts.hostname}:{parts.port or 9000}"
    return (
        f"http::addr={address};auto_flush=off;max_buf_size={MAX_BUFFER_BYTES};"
        f"request_timeout={int(request_timeout * 1000)};retry_timeout=2000;"
    )


def chunk_rows(table: pa.Table) -> int:
    """Rows per flush for frames shaped like `table`: about TARGET_CHUNK_BYTES of ILP text."""
    per_row = 32 + sum(len(name) + 16 for name in table.schema.names)
    if table.num_rows:
        per_row = max(per_row, 2 * table.nbytes // table.num_rows)
    return max(MIN_CHUNK_ROWS, min(MAX_CHUNK_ROWS, TARGET_CHUNK_BYTES // per_row))


async def send(conf: str, table_name: str, chunks: AsyncIterator[pa.Table], symbols: Sequence[str]) -> None:
    """Serializes and flushes every chunk, one flush in flight while the next chunk is serialized.

    Every write opens its own sender: QuestDB's ILP/HTTP connection remembers the tables it wrote to, and
    after a table is dropped and created again, rows sent over a reused connection are silently lost."""
    sender = await anyio.to_thread.run_sync(_open, conf)
    failures: list[Exception] = []
    try:
        async with anyio.create_task_group() as group:
            # The host's own failure is kept aside: raised inside the group it would come out wrapped in an
            # ExceptionGroup, and the flush in flight still has to finish before the sender closes.
            try:
                in_flight: anyio.Event | None = None
                async for chunk in chunks:
                    buffer = await anyio.to_thread.run_sync(_serialize, sender, table_name, chunk, list(symbols))
                    if in_flight is not None:
                        await in_flight.wait()
                    if failures:
                        break
                    in_flight = anyio.Event()
                    group.start_soon(_flush, sender, buffer, in_flight, failures)
            except Exception as exc:
                failures.insert(0, exc)
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(_close, sender)
    if failures:
        raise failures[0]


async def _flush(sender: Sender, buffer: Any, done: anyio.Event, failures: list[Exception]) -> None:
    try:
        await anyio.to_thread.run_sync(_flush_now, sender, buffer)
    except Exception as exc:
        failures.append(exc)
    finally:
        done.set()


def _open(conf: str) -> Sender:
    try:
        sender = Sender.from_conf(conf)
        sender.establish()  # type: ignore[no-untyped-call]
    except QuestDBError as exc:
        raise translate(exc) from exc
    return sender


def _serialize(sender: Sender, table_name: str, chunk: pa.Table, symbols: list[str]) -> Any:
    frame = chunk.to_pandas(types_mapper=pd.ArrowDtype)
    present = [name for name in symbols if name in chunk.schema.names]
    buffer = sender.new_buffer()
    try:
        buffer.dataframe(frame, table_name=table_name, symbols=present or False, at=TIMESTAMP)
    except QuestDBError as exc:
        raise InvalidInput(f"the frame cannot be sent to QuestDB: {exc}", {"questdb": str(exc)}) from exc
    return buffer


def _flush_now(sender: Sender, buffer: Any) -> None:
    try:
        sender.flush(buffer, transactional=True)
    except QuestDBError as exc:
        raise translate(exc) from exc


def _close(sender: Sender) -> None:
    with suppress(QuestDBError):
        sender.close(flush=False)


def translate(exc: QuestDBError) -> Exception:
    text = str(exc)
    code = getattr(exc, "code", None)
    if code in _UNREACHABLE or "Connection refused" in text or "could not connect" in text.lower():
        return StoreUnavailable("QuestDB is unreachable for ingestion", {"error": text})
    return UpstreamError(_server_message(text), {"questdb": _server_message(text)})


def _server_message(text: str) -> str:
    """The server's own message out of the client's `Could not flush buffer: {json}` wrapper."""
    start = text.find("{")
    if start >= 0:
        try:
            body = json.loads(text[start:])
        except ValueError:
            return text
        if isinstance(body, dict) and body.get("message"):
            return str(body["message"])
    return text
