"""A write into a QuestDB measurement, all or nothing.

QuestDB commits every ILP flush on its own, so rows streamed straight into a measurement stay there when a
later chunk fails. Here they go into a staging table beside it (hidden from listings by its `__` prefix),
and only a complete staging table touches the measurement:
- a new measurement, or `mode=replace`: the old table (if any) is dropped and the staging table renamed
  in its place; until then readers see the old rows;
- an append to a measurement that exists: columns the frame adds are added, then one
  `INSERT INTO ... SELECT` (one WAL transaction) copies the rows over, dedup keys applying as usual.
A failure before that leaves the measurement exactly as it was, rows and schema; the staging table is
dropped. A process that dies midway leaves a staging table behind: the periodic sweep of crash leftovers
(`drop_stale_staging`) removes those older than an hour, so no write pays for listing tables. A retried job
writes again from the start, and the dedup keys make the append exactly-once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing, suppress
from dataclasses import dataclass, field
from typing import Final

import anyio
import pyarrow as pa
import pyarrow.compute as pc

from adapters.questdb import sql
from adapters.questdb.http import QuestDBHttp
from adapters.questdb.ingest import chunk_rows, send
from adapters.series.sampling import partition_by
from adapters.series.schema import check_keys, conform, dedup_keys, normalize, time_bounds
from application.series_ports import WriteReport
from application.store_types import SYMBOL, column_type_for
from domain.errors import UpstreamError
from domain.frames import TIMESTAMP, FrameKind, WriteMode
from domain.values import MeasurementName

BARE_ROWS_PER_INSERT: Final = 1_000
STALE_STAGING_SECONDS: Final = 3600
# After losing a race to create a measurement, how long to wait for the winner's table (6.35 s in all).
RENAMED_TABLE_WAITS: Final = (0.0, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2)

Columns = dict[str, tuple[str, bool]]


@dataclass(slots=True)
class _Write:
    """What one write learns as its batches go by."""

    types: dict[str, str] | None = None
    keys: list[str] = field(default_factory=list)
    symbols: list[str] = field(default_factory=list)
    bare_micros: list[int] = field(default_factory=list)
    rows: int = 0
    first_ns: int | None = None
    last_ns: int | None = None

    def count(self, frame: pa.Table) -> None:
        low, high = time_bounds(frame)
        self.rows += frame.num_rows
        if low is not None and high is not None:
            self.first_ns = low if self.first_ns is None else min(self.first_ns, low)
            self.last_ns = high if self.last_ns is None else max(self.last_ns, high)


class StagedWrite:
    """One write. `columns(name)` answers a table's columns (None when absent); `await_wal(name)` waits
    until QuestDB applied every committed transaction of `name`."""

    def __init__(
        self,
        http: QuestDBHttp,
        ilp: str,
        columns: Callable[[str], Awaitable[Columns | None]],
        await_wal: Callable[[str], Awaitable[None]],
    ) -> None:
        self._http = http
        self._ilp = ilp
        self._columns = columns
        self._await_wal = await_wal
        self._staging = sql.staging_name(int(time.time()), uuid.uuid4().hex[:12])

    async def run(
        self,
        name: MeasurementName,
        batches: AsyncIterator[pa.RecordBatch],
        kind: FrameKind,
        mode: WriteMode,
        granularity: str | None,
    ) -> WriteReport:
        target = None if mode is WriteMode.REPLACE else await self._columns(name)
        state = _Write()
        try:
            chunks = self._chunks(batches, kind, target, granularity, state)
            async with aclosing(chunks) as flushes:
                await send(self._ilp, self._staging, flushes, state.symbols)
            if state.types is None:
                if mode is WriteMode.REPLACE:
                    await self._http.exec(f"DROP TABLE IF EXISTS {sql.table(name)}")
                return WriteReport(name, 0, None, None)
            await self._insert_bare_rows(state.bare_micros)
            await self._await_wal(self._staging)
            await self._swap(name, mode, state.types)
        except BaseException:
            with anyio.CancelScope(shield=True), suppress(Exception):
                await self._http.exec(f"DROP TABLE IF EXISTS {sql.table(self._staging)}")
            raise
        await self._await_wal(name)
        return WriteReport(name, state.rows, state.first_ns, state.last_ns)

    async def _swap(self, name: str, mode: WriteMode, types: dict[str, str]) -> None:
        current = None if mode is WriteMode.REPLACE else await self._columns(name)
        if current is None:
            if mode is WriteMode.REPLACE:
                await self._http.exec(f"DROP TABLE IF EXISTS {sql.table(name)}")
            try:
                await self._http.exec(f"RENAME TABLE {sql.table(self._staging)} TO {sql.table(name)}")
                return
            except UpstreamError:
                # Two appends to a measurement that did not exist yet: the other one's rename won, and
                # dropping its table here would lose its rows. Append to it like to any existing one.
                current = None if mode is WriteMode.REPLACE else await self._renamed_columns(name)
                if current is None:
                    raise
        for column, store_type in types.items():
            if column not in current:
                await self._http.exec(sql.add_column(name, column, store_type))
        names = ", ".join(sql.column(column) for column in types)
        await self._http.exec(f"INSERT INTO {sql.table(name)} ({names}) SELECT {names} FROM {sql.table(self._staging)}")
        await self._http.exec(f"DROP TABLE IF EXISTS {sql.table(self._staging)}")

    async def _renamed_columns(self, name: str) -> Columns | None:
        """The columns of the table another write has just renamed to `name`. QuestDB holds the new name a
        moment before the table answers under it (seen under load in CI: the rename refused as "new name is
        already in use", then `table_columns` said "does not exist"), so this asks again for a few seconds."""
        for wait in RENAMED_TABLE_WAITS:
            await anyio.sleep(wait)
            current = await self._columns(name)
            if current is not None:
                return current
        return None

    async def _chunks(
        self,
        batches: AsyncIterator[pa.RecordBatch],
        kind: FrameKind,
        target: Columns | None,
        granularity: str | None,
        state: _Write,
    ) -> AsyncGenerator[pa.Table, None]:
        """Normalized frames regrouped into flush-sized chunks; the staging table is made ready before each."""
        pending: list[pa.Table] = []
        pending_rows = 0
        size = 0
        async for batch in batches:
            frame = normalize(batch)
            if state.types is None:
                await self._create_staging(frame, kind, target, granularity, state)
                size = chunk_rows(frame)
            assert state.types is not None
            frame = conform(frame, state.types)
            await self._widen(frame, kind, state)
            check_keys(frame, state.keys)
            state.count(frame)
            frame = _set_aside_bare_rows(frame, state.bare_micros)
            if frame.num_rows == 0:
                continue
            pending.append(frame)
            pending_rows += frame.num_rows
            while pending_rows >= size:
                combined = pa.concat_tables(pending, promote_options="default")
                yield combined.slice(0, size)
                rest = combined.slice(size)
                pending, pending_rows = ([rest], rest.num_rows) if rest.num_rows else ([], 0)
        if pending:
            yield pa.concat_tables(pending, promote_options="default")

    async def _create_staging(
        self, frame: pa.Table, kind: FrameKind, target: Columns | None, granularity: str | None, state: _Write
    ) -> None:
        """The staging table: the measurement's columns and keys when appending to one, else the frame's."""
        if target is None:
            types = {
                column: column_type_for(kind, column, dtype)
                for column, dtype in zip(frame.schema.names, frame.schema.types, strict=True)
            }
            keys = dedup_keys(kind)
            check_keys(frame, keys)
        else:
            types = {column: store_type for column, (store_type, _) in target.items()}
            keys = [column for column, (_, upsert) in target.items() if upsert] or dedup_keys(kind)
        await self._http.exec(sql.create_table(self._staging, types, keys, partition_by(kind, granularity)))
        state.types, state.keys = types, keys
        state.symbols[:] = [column for column, store_type in types.items() if store_type == SYMBOL]

    async def _widen(self, frame: pa.Table, kind: FrameKind, state: _Write) -> None:
        assert state.types is not None
        for column, dtype in zip(frame.schema.names, frame.schema.types, strict=True):
            if column in state.types:
                continue
            store_type = column_type_for(kind, column, dtype)
            await self._http.exec(sql.add_column(self._staging, column, store_type))
            state.types[column] = store_type
            if store_type == SYMBOL:
                state.symbols.append(column)

    async def _insert_bare_rows(self, micros: list[int]) -> None:
        """Rows with nothing but a time cannot travel over ILP (a line needs a field); SQL takes them."""
        stamp = sql.column(TIMESTAMP)
        for start in range(0, len(micros), BARE_ROWS_PER_INSERT):
            batch = micros[start : start + BARE_ROWS_PER_INSERT]
            values = ", ".join(f"(cast({value} as timestamp))" for value in batch)
            await self._http.exec(f"INSERT INTO {sql.table(self._staging)} ({stamp}) VALUES {values}")

async def drop_stale_staging(http: QuestDBHttp, older_than: float = STALE_STAGING_SECONDS) -> list[str]:
    """Drops the staging tables of writes that started more than `older_than` seconds ago (their process died:
    no write runs that long before its swap); answers their names. A write in progress is younger, and kept."""
    rows = await http.dataset(f"SELECT table_name FROM tables() WHERE table_name LIKE '{sql.STAGING_PREFIX}%'")
    oldest = time.time() - older_than
    dropped: list[str] = []
    for (table_name,) in rows:
        started = sql.staging_started(str(table_name))
        if started is not None and started < oldest:
            with suppress(UpstreamError):
                await http.exec(f"DROP TABLE IF EXISTS {sql.table(str(table_name))}")
                dropped.append(str(table_name))
    return dropped


def _set_aside_bare_rows(frame: pa.Table, bare_micros: list[int]) -> pa.Table:
    """`frame` without the rows whose every column but `timestamp` is null; their times go to `bare_micros`."""
    others = [frame.column(name) for name in frame.schema.names if name != TIMESTAMP]
    if not others:
        bare = pa.chunked_array([pa.array([True] * frame.num_rows)])
    else:
        bare = pc.is_null(others[0])
        for values in others[1:]:
            bare = pc.and_(bare, pc.is_null(values))
    if not pc.any(bare).as_py():
        return frame
    stamps = pc.filter(frame.column(TIMESTAMP), bare).cast(pa.int64())
    bare_micros.extend(value // 1000 for value in stamps.to_pylist())
    return frame.filter(pc.invert(bare))
