"""The event feed on Postgres: rows in `stage1_events`, a NOTIFY per commit, one listener per process.

Event ids come from a sequence, but transactions commit in any order, so id 11 can be visible before
id 10. The listener therefore hands events out strictly in id order and waits for a missing id to
commit, however long its transaction runs (a cascade delete, a million-row save). It skips an id only
once the id is known to be aborted: the read that found the gap also took the database's snapshot, and
once no transaction that was in progress in that snapshot is still inserting events, an id still
missing can never commit (whoever took it held a transaction id before it took the event id, so it was
in that snapshot, and it holds the table's lock until it ends).
Everything up to `delivered` is settled, which is what makes resume-by-id lossless.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from datetime import timedelta
from typing import Any

import asyncpg

from adapters.jobs import pg
from adapters.jobs.events import SUBSCRIBER_BUFFER, Event, FanoutFeed
from domain.errors import StoreUnavailable
from domain.events import EventType

log = logging.getLogger("stage1.events.postgres")

FETCH_PAGE = 1000

_PUBLISH = pg.insert_event_sql("$1", "$2")

# No transaction that was in progress when the gap was seen is still writing events: still running (it
# holds the lock on its own id) and holding the table lock every insert into stage1_events takes. Other
# transactions of the cluster (other databases, idle sessions) do not hold the gap up.
_SNAPSHOT_SETTLED = """
SELECT NOT EXISTS (
    SELECT 1
    FROM pg_snapshot_xip($1::text::pg_snapshot) AS gap(xid)
    JOIN pg_locks AS own
        ON own.locktype = 'transactionid' AND own.transactionid::text = (gap.xid::text::numeric % 4294967296)::text
    JOIN pg_locks AS writes
        ON writes.virtualtransaction = own.virtualtransaction AND writes.locktype = 'relation'
        AND writes.relation = 'stage1_events'::regclass
        AND writes.database = (SELECT oid FROM pg_database WHERE datname = current_database())
)
"""


class PostgresEventFeed(FanoutFeed):
    def __init__(
        self,
        pool: asyncpg.Pool,
        url: str,
        *,
        buffer: int = SUBSCRIBER_BUFFER,
        gap_poll: float = 0.05,
        poll_interval: float = 5.0,
        retention: timedelta = timedelta(hours=24),
        prune_every: float = 3600.0,
        start_timeout: float = 10.0,
    ) -> None:
        super().__init__(buffer)
        self._pool = pool
        self._url = url
        self.gap_poll = gap_poll
        self.poll_interval = poll_interval
        self.retention = retention
        self.prune_every = prune_every
        self.start_timeout = start_timeout
        self._listener: asyncpg.Connection | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self._started = asyncio.Event()
        self._start_lock = asyncio.Lock()
        self._dirty = asyncio.Event()
        # Live-only events (job progress) that arrived in NOTIFY payloads, sent after the stored ones read with them.
        self._live: list[dict[str, Any]] = []
        # The first missing id and the snapshot (text) of the read that found it missing.
        self._gap: tuple[int, str] | None = None
        self._last_prune = 0.0
        self._closed = False

    async def publish(self, event_type: str, data: dict[str, Any]) -> None:
        try:
            await self._pool.fetchrow(_PUBLISH, event_type, data)
        except pg.UNAVAILABLE as exc:
            raise StoreUnavailable(f"event feed: {exc}") from exc

    async def close(self) -> None:
        self._closed = True
        if self._pump_task is not None:
            self._pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump_task
        await self._close_listener()

    async def prune(self) -> int:
        status = await self._pool.execute(
            "DELETE FROM stage1_events WHERE created_at < now() - $1::interval", self.retention
        )
        return int(status.split()[-1])

    async def _start(self) -> None:
        if self._started.is_set():
            return
        async with self._start_lock:
            if self._pump_task is None:
                self._pump_task = asyncio.create_task(self._pump(), name="stage1-events-listener")
        try:
            await asyncio.wait_for(self._started.wait(), self.start_timeout)
        except TimeoutError as exc:
            raise StoreUnavailable("the event feed cannot reach Postgres") from exc

    async def _read_range(self, after: int, upto: int, types: set[str] | None, limit: int) -> list[Event]:
        try:
            rows = await self._pool.fetch(
                "SELECT event_id, type, data FROM stage1_events "
                "WHERE event_id > $1 AND event_id <= $2 AND ($3::text[] IS NULL OR type = ANY($3::text[])) "
                "ORDER BY event_id LIMIT $4",
                after, upto, sorted(types) if types is not None else None, limit,
            )
        except pg.UNAVAILABLE as exc:
            raise StoreUnavailable(f"event feed: {exc}") from exc
        return [Event(r["event_id"], r["type"], r["data"]) for r in rows]

    # ------------------------------------------------------------ the listener

    async def _pump(self) -> None:
        failures = 0
        while not self._closed:
            try:
                await self._ensure_listening()
                if not self._started.is_set():
                    self._fanout.delivered = await self._settled_latest()
                    self._started.set()
                while await self._deliver_new():
                    pass
                live, self._live = self._live, []
                for data in live:
                    self.announce(EventType.JOB_UPDATED, data)
                failures = 0
                await self._maybe_prune()
                wait = self.poll_interval if self._gap is None else self.gap_poll
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._dirty.wait(), wait)
                self._dirty.clear()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                pause = min(0.2 * 2**failures, 10.0)
                log.warning("event listener failed, reconnecting in %.1fs: %s", pause, exc)
                await self._close_listener()
                await asyncio.sleep(pause)

    async def _settled_latest(self) -> int:
        """The newest event id, once every id below it is settled: a transaction still writing events when the
        feed starts may hold a smaller id, which must not fall below the start (it would never be delivered)."""
        row = await self._pool.fetchrow(
            "SELECT coalesce(max(event_id), 0) AS latest, pg_current_snapshot()::text AS snapshot FROM stage1_events"
        )
        while not await self._pool.fetchval(_SNAPSHOT_SETTLED, row["snapshot"]):  # noqa: ASYNC110 - polls Postgres
            await asyncio.sleep(self.gap_poll)
        return int(row["latest"])

    async def _ensure_listening(self) -> None:
        conn = await pg.listening(self._listener, self._url, pg.EVENTS_CHANNEL, self._on_notify)
        if conn is not None:
            self._listener = conn
            self._dirty.set()

    async def _close_listener(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
        self._listener = None

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        if payload.startswith("{"):
            with contextlib.suppress(ValueError):
                self._live.append(json.loads(payload))
        self._dirty.set()

    async def committed(self) -> None:
        self._dirty.set()

    async def _deliver_new(self) -> bool:
        """Delivers the next settled events; True when there may be more right away."""
        # Settled is checked before the read: an id that committed meanwhile is then in the read.
        settled = self._gap is not None and bool(await self._pool.fetchval(_SNAPSHOT_SETTLED, self._gap[1]))
        rows = await self._pool.fetch(
            "SELECT event_id, type, data, pg_current_snapshot()::text AS snapshot FROM stage1_events "
            "WHERE event_id > $1 ORDER BY event_id LIMIT $2",
            self._fanout.delivered, FETCH_PAGE,
        )
        ready: list[Event] = []
        expected = self._fanout.delivered + 1
        for row in rows:
            if row["event_id"] != expected:
                if self._gap is None or self._gap[0] != expected:
                    self._gap, settled = (expected, row["snapshot"]), False
                if not settled:
                    break
                log.info("skipping event ids %d..%d: their transactions aborted", expected, row["event_id"] - 1)
            self._gap = None
            ready.append(Event(row["event_id"], row["type"], row["data"]))
            expected = row["event_id"] + 1
        self._fanout.deliver(ready)
        return len(rows) == FETCH_PAGE and len(ready) == len(rows)

    async def _maybe_prune(self) -> None:
        now = time.monotonic()
        if now - self._last_prune < self.prune_every:
            return
        self._last_prune = now
        try:
            removed = await self.prune()
        except Exception as exc:
            log.warning("pruning old events failed: %s", exc)
        else:
            if removed:
                log.info("pruned %d events older than %s", removed, self.retention)
