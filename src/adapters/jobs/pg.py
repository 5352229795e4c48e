"""asyncpg plumbing shared by the Postgres queue and event feed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import asyncpg

from application.job_events import SERVER_SIDE_KEYS
from domain.errors import StoreUnavailable
from domain.events import EventType

# What "the database is unreachable right now" looks like through asyncpg: answered as StoreUnavailable.
UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InterfaceError,
)

EVENTS_CHANNEL = "stage1_events"
JOBS_CHANNEL = "stage1_jobs"


def insert_event_sql(type_param: str, data_param: str, *, notify: bool = True) -> str:
    """One stored event, numbered from the sequence, with a wake-up for every process's listener at commit.

    The feed's gap rule (`postgres_events`) needs the transaction id taken before the event id. A subquery
    that only calls `pg_current_xact_id()` does not do it: the function is STABLE, so the planner pulls the
    subquery up and drops the unused call, and the id is then taken by the row's insert, after `nextval`.
    OFFSET 0 keeps the subquery a node of its own and the filter keeps its column: the id is taken when the
    row that `nextval` is computed from is made. `notify=False` leaves readers to find the row by polling
    (a kill test uses it). The empty payload lets Postgres fold the NOTIFYs of one transaction into one.
    """
    wake = f"pg_notify('{EVENTS_CHANNEL}', '')" if notify else "NULL"
    return f"""
WITH inserted AS (
    INSERT INTO stage1_events (event_id, type, data, created_at)
    SELECT nextval(pg_get_serial_sequence('stage1_events', 'event_id')), {type_param}, {data_param}, now()
    FROM (SELECT pg_current_xact_id() AS xid OFFSET 0) AS own
    WHERE own.xid IS NOT NULL
    RETURNING event_id
)
SELECT event_id, {wake} IS NULL AS woken FROM inserted
"""


# The Postgres twin of application.job_events.job_event_data: the same keys and timestamp format.
_TS = "to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"


_HIDDEN = "ARRAY[" + ", ".join(f"'{key}'" for key in SERVER_SIDE_KEYS) + "]::text[]"


def job_json(alias: str) -> str:
    def ts(column: str) -> str:
        return _TS.format(col=f"{alias}.{column}")

    fields = [
        ("job_id", f"{alias}.job_id::text"),
        ("type", f"{alias}.type"),
        ("status", f"{alias}.status"),
        ("payload", f"({alias}.payload - {_HIDDEN})"),
        ("progress", f"{alias}.progress"),
        ("total", f"{alias}.total"),
        ("message", f"{alias}.message"),
        ("result", f"{alias}.result"),
        ("error", f"{alias}.error"),
        ("attempts", f"{alias}.attempts"),
        ("max_attempts", f"{alias}.max_attempts"),
        ("priority", f"{alias}.priority"),
        ("worker_id", f"{alias}.worker_id"),
        ("created_at", ts("created_at")),
        ("updated_at", ts("updated_at")),
        ("started_at", ts("started_at")),
        ("completed_at", ts("completed_at")),
    ]
    return "jsonb_build_object(" + ", ".join(f"'{k}', {v}" for k, v in fields) + ")"


def job_events_sql(source: str) -> str:
    """CTE pieces that record a `job.updated` event per row of `source` and NOTIFY the feed once.

    Reference `(SELECT count(*) FROM notified)` in the final SELECT so the NOTIFY runs."""
    return f"""
    events AS (
        INSERT INTO stage1_events (type, data, created_at)
        SELECT '{EventType.JOB_UPDATED}', {job_json(source)}, now() FROM {source}
        RETURNING event_id
    ),
    notified AS (
        SELECT pg_notify('{EVENTS_CHANNEL}', max(event_id)::text) FROM events HAVING count(*) > 0
    )"""


# pg_notify refuses a payload of 8000 bytes or more; a larger job is announced without its bulky fields.
_NOTIFY_LIMIT = 7900


def job_progress_sql(source: str) -> str:
    """A CTE piece that sends each row of `source` to the feed's listeners as a live `job.updated` (its JSON is
    the NOTIFY's payload): progress is not stored. Reference `(SELECT count(*) FROM announced)`."""
    job = job_json(source)
    return f"""
    announced AS (
        SELECT pg_notify('{EVENTS_CHANNEL}', CASE WHEN octet_length(j::text) < {_NOTIFY_LIMIT} THEN j::text
            ELSE (j - 'payload' - 'result' - 'message')::text END)
        FROM (SELECT {job} AS j FROM {source}) AS jobs
    )"""


QUEUE_SESSION = {
    "application_name": "stage1-jobs",
    # A queue table swings from empty to thousands of PENDING rows faster than autovacuum re-analyzes
    # it, and asyncpg's prepared statements keep the generic plan Postgres settles on while the table
    # was tiny. Either way the planner may pick a scan that reads and sorts every pending row on each
    # claim (milliseconds, growing with the backlog) instead of the first few entries of the claim
    # index in order. Every statement on these connections has an index path, so ruling out the
    # alternatives makes the cached plans right at any table size.
    "enable_seqscan": "off",
    "enable_bitmapscan": "off",
    "enable_sort": "off",
    # Those switches inflate plan costs past jit_above_cost; compiling a millisecond statement with
    # LLVM takes hundreds of milliseconds.
    "jit": "off",
    # A generic plan is made once, with the statistics of that moment: one made while the table looked empty
    # joined a finish's batch to a full scan of the primary key (every job, for every finish) and stayed
    # cached while the table grew. Planned per call, each statement sees the batch it carries and the
    # table's current size; planning costs a fraction of a millisecond (issue #16).
    "plan_cache_mode": "force_custom_plan",
}


def asyncpg_dsn(url: str) -> str:
    """`postgresql+asyncpg://...` (SQLAlchemy style) -> `postgresql://...` (what asyncpg takes)."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}://{rest}" if sep else url


async def init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def end_transaction(conn: asyncpg.Connection) -> None:
    """What a connection needs when it goes back to the pool: only an unfinished transaction ended.

    asyncpg's default reset sends `pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` on every
    release, a second round trip for each one-statement call of the queue and feed. Their pooled
    connections take no advisory locks, open no cursors, LISTEN on none (listeners have their own
    connection) and SET nothing; the session settings above are startup parameters and stay."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def create_pool(url: str, min_size: int = 1, max_size: int = 10, **options: Any) -> asyncpg.Pool:
    try:
        pool = await asyncpg.create_pool(
            asyncpg_dsn(url),
            min_size=min_size,
            max_size=max_size,
            init=init_connection,
            reset=end_transaction,
            server_settings=QUEUE_SESSION,
            **options,
        )
    except (*UNAVAILABLE, asyncpg.PostgresError) as exc:
        raise StoreUnavailable(f"cannot reach Postgres for the job queue: {exc}") from exc
    assert pool is not None
    return pool


async def connect(url: str) -> asyncpg.Connection:
    try:
        conn = await asyncpg.connect(asyncpg_dsn(url), server_settings={"application_name": "stage1-listen"})
    except (*UNAVAILABLE, asyncpg.PostgresError) as exc:
        raise StoreUnavailable(f"cannot reach Postgres for the job queue: {exc}") from exc
    await init_connection(conn)
    return conn


async def listening(
    current: asyncpg.Connection | None, url: str, channel: str, on_notify: Callable[..., None]
) -> asyncpg.Connection | None:
    """A new connection listening on `channel`; None while `current` is open (it listens already)."""
    if current is not None and not current.is_closed():
        return None
    conn = await connect(url)
    await conn.add_listener(channel, on_notify)
    return conn
