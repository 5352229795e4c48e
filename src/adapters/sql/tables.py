"""The metadata schema as SQLAlchemy Core tables, portable between Postgres and SQLite.

The migrations in `/migrations` create exactly this schema; a test compares the two. Table and column
names are frozen by the contract (desktops read these tables directly).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Uuid,
    and_,
    false,
    text,
)

from adapters.sql.columns import (
    UtcDateTime,
    autoincrement_bigint,
    frame_stats,
    json_type,
    of_simulation,
    record_history,
    record_indexes,
    timestamps,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)


datasets = Table(
    "stage1_datasets",
    metadata,
    Column("dataset_id", Uuid(), primary_key=True),
    Column("dataset_slug", String(64), nullable=False, unique=True),
    Column("symbol", String(256)),
    Column("granularity", String(256)),
    Column("source", String(256)),
    Column("ohlcv_measurement", String(127), nullable=False),
    Column("indicator_measurement", String(127), nullable=False),
    *frame_stats(),
    Column("metadata", json_type(), nullable=False),
    *timestamps(),
    Column("version", BigInteger(), nullable=False, server_default=text("0")),
    Index(None, "created_at"),
)

# One row per change of a dataset's rows: a fingerprint (counts, bounds, checksums), not a snapshot.
dataset_versions = Table(
    "stage1_dataset_versions",
    metadata,
    Column("dataset_id", Uuid(), ForeignKey("stage1_datasets.dataset_id", ondelete="CASCADE"), nullable=False),
    Column("version", BigInteger(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    *frame_stats(),
    Column("ohlcv_checksum", String(64)),
    Column("indicator_checksum", String(64)),
    Column("changed_from_ts", BigInteger()),
    PrimaryKeyConstraint("dataset_id", "version"),
)

# The Stage 1.3 registry, kept as a mirror of `stage1_datasets` for desktops that still read it.
legacy_datasets = Table(
    "indicator_datasets",
    metadata,
    Column("dataset_id", Uuid(), primary_key=True),
    Column("dataset_slug", String(64), nullable=False, unique=True),
    Column("symbol", String(256)),
    Column("granularity", String(256)),
    Column("measurement", String(127), nullable=False),
    Column("ohlcv_measurement", String(127)),
    Column("row_count", BigInteger(), nullable=False, server_default=text("0")),
    Column("first_ts", BigInteger()),
    Column("last_ts", BigInteger()),
    *timestamps(),
)

runs = Table(
    "walkforward_runs",
    metadata,
    Column("run_id", Uuid(), primary_key=True),
    Column("dataset_id", Uuid(), ForeignKey("stage1_datasets.dataset_id"), nullable=False),
    Column("dataset_slug", String(64), nullable=False),
    Column("prediction_measurement", String(127), nullable=False),
    Column("status", String(16), nullable=False),
    Column("target_column", String(256)),
    Column("feature_columns", json_type(), nullable=False),
    Column("walk_config", json_type(), nullable=False),
    Column("hyperparameters", json_type(), nullable=False),
    Column("summary_metrics", json_type(), nullable=False),
    Column("fold_count", Integer(), nullable=False, server_default=text("0")),
    Column("clipboard_text", Text()),
    *record_history(),
    # What the walk-forward checks found in the run's predictions; null for runs saved before them.
    Column("checks", json_type()),
    *record_indexes("run_id", "prediction_measurement"),
    Index(None, "status", "run_id"),  # the ids of a status, index-only, for search (migration 0015)
)

folds = Table(
    "walkforward_folds",
    metadata,
    Column("run_id", Uuid(), ForeignKey("walkforward_runs.run_id", ondelete="CASCADE"), nullable=False),
    Column("fold_number", Integer(), nullable=False),
    Column("train_start", BigInteger()),
    Column("train_end", BigInteger()),
    Column("test_start", BigInteger()),
    Column("test_end", BigInteger()),
    Column("train_start_ts", BigInteger()),
    Column("train_end_ts", BigInteger()),
    Column("test_start_ts", BigInteger()),
    Column("test_end_ts", BigInteger()),
    Column("thresholds", json_type(), nullable=False),
    Column("metrics", json_type(), nullable=False),
    PrimaryKeyConstraint("run_id", "fold_number"),
)

simulations = Table(
    "simulation_runs",
    metadata,
    Column("simulation_id", Uuid(), primary_key=True),
    Column("run_id", Uuid(), ForeignKey("walkforward_runs.run_id"), nullable=False),
    Column("dataset_id", Uuid(), ForeignKey("stage1_datasets.dataset_id"), nullable=False),
    Column("trades_measurement", String(127), nullable=False),
    Column("status", String(16), nullable=False),
    Column("config", json_type(), nullable=False),
    Column("summary_metrics", json_type(), nullable=False),
    Column("trade_count", BigInteger(), nullable=False, server_default=text("0")),
    *record_history(),
    Index(None, "run_id"),
    *record_indexes("simulation_id", "trades_measurement"),
)


def _metric_values(name: str, owner: str, key: str) -> Table:
    """Each numeric metric (or hyperparameter) as a row, for search; triggers of migrations 0013/0015 fill it."""
    return Table(
        name,
        metadata,
        Column(key, Uuid(), ForeignKey(f"{owner}.{key}", ondelete="CASCADE"), nullable=False),
        Column("key", Text(), nullable=False),
        Column("value", Double(), nullable=False),
        PrimaryKeyConstraint(key, "key"),
        Index(None, "key", "value", key),
    )


run_metric_values = _metric_values("walkforward_run_metric_values", "walkforward_runs", "run_id")
simulation_metric_values = _metric_values("simulation_run_metric_values", "simulation_runs", "simulation_id")
run_param_values = _metric_values("walkforward_run_param_values", "walkforward_runs", "run_id")  # hyperparameters

trade_buckets = Table(
    "simulation_trade_buckets",
    metadata,
    of_simulation(),
    Column("bucket", String(64), nullable=False),
    Column("trade_count", BigInteger(), nullable=False),
    Column("win_count", BigInteger(), nullable=False),
    Column("loss_count", BigInteger(), nullable=False),
    Column("total_pnl", Double(), nullable=False),
    Column("avg_pnl", Double(), nullable=False),
    Column("avg_return_pct", Double(), nullable=False),
    Column("max_win", Double(), nullable=False),
    Column("max_loss", Double(), nullable=False),
    PrimaryKeyConstraint("simulation_id", "bucket"),
)

# Trade times are epoch nanoseconds: a trade's identity in QuestDB is its nanosecond timestamp.
trades = Table(
    "simulation_trades",
    metadata,
    of_simulation(),
    Column("trade_id", BigInteger(), nullable=False),
    Column("bar_timestamp", BigInteger(), nullable=False),
    Column("entry_timestamp", BigInteger()),
    Column("exit_timestamp", BigInteger()),
    Column("side", String(8), nullable=False),
    Column("entry_price", Double()),
    Column("exit_price", Double()),
    Column("quantity", Double()),
    Column("pnl", Double()),
    Column("return_pct", Double()),
    Column("fees", Double()),
    Column("fold_number", Integer()),
    PrimaryKeyConstraint("simulation_id", "trade_id"),
    Index(None, "simulation_id", "bar_timestamp", "trade_id"),
)

jobs = Table(
    "stage1_jobs",
    metadata,
    Column("job_id", Uuid(), primary_key=True),
    Column("type", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("payload", json_type(), nullable=False),
    Column("progress", BigInteger(), nullable=False, server_default=text("0")),
    Column("total", BigInteger()),
    Column("message", Text()),
    Column("result", json_type(nullable=True)),
    Column("error", Text()),
    Column("attempts", Integer(), nullable=False, server_default=text("0")),
    Column("max_attempts", Integer(), nullable=False, server_default=text("3")),
    Column("priority", Integer(), nullable=False, server_default=text("0")),
    Column("worker_id", String(128)),
    *timestamps(),
    Column("started_at", UtcDateTime()),
    Column("completed_at", UtcDateTime()),
    Column("run_after", UtcDateTime()),
    Column("lease_expires_at", UtcDateTime()),
    Column("cancel_requested", Boolean(), nullable=False, server_default=false()),
    Column("idempotency_key", String(200)),
)
# Workers claim the most urgent runnable job; only PENDING rows are ever scanned for that.
Index(
    "ix_stage1_jobs_claim",
    jobs.c.status,
    jobs.c.priority.desc(),
    jobs.c.run_after,
    jobs.c.created_at,
    postgresql_where=jobs.c.status == "PENDING",
)
# Each status change of a job writes a new row version, and that version gets an entry in every index whose
# predicate it meets: the lease and idempotency indexes hold only the rows they are asked about (running
# jobs; jobs submitted with a key), so most job writes skip them (migration 0014).
# Only a question about leases implies this predicate: a finish or heartbeat says `status = 'RUNNING'` too, and
# must find its row through the primary key, not by scanning every running version (migration 0016).
_LEASED = and_(jobs.c.status == "RUNNING", jobs.c.lease_expires_at.is_not(None))
Index("ix_stage1_jobs_lease", jobs.c.lease_expires_at, postgresql_where=_LEASED, sqlite_where=_LEASED)
Index(
    "uq_stage1_jobs_idempotency_key",
    jobs.c.idempotency_key,
    unique=True,
    postgresql_where=jobs.c.idempotency_key.is_not(None),
    sqlite_where=jobs.c.idempotency_key.is_not(None),
)
# No job_id here: with it, a lookup by id could scan this whole index instead of the primary key (0016).
Index("ix_stage1_jobs_created_at", jobs.c.created_at)

events = Table(
    "stage1_events",
    metadata,
    Column("event_id", autoincrement_bigint(), primary_key=True, autoincrement=True),
    Column("type", String(64), nullable=False),
    Column("data", json_type(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index(None, "created_at"),
)

idempotency = Table(
    "stage1_idempotency",
    metadata,
    Column("key", String(200), nullable=False),
    Column("scope", String(64), nullable=False),
    Column("request_hash", String(128), nullable=False),
    Column("created", Boolean(), nullable=False),
    Column("body", json_type(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("key", "scope"),
    Index(None, "created_at"),
)

api_tokens = Table(
    "stage1_api_tokens",
    metadata,
    Column("token_id", Uuid(), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("token_hash", String(128), nullable=False, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime()),
    Column("last_used_at", UtcDateTime()),
    Column("revoked_at", UtcDateTime()),
    Index(None, "created_at", "token_id"),
)


# Search (issue #12). Equality on a JSON key is translated to containment (`tags @> '{"owner": "ana"}'`), which
# a jsonb_path_ops GIN index answers; parameters and tags are what people match exactly (metrics they compare
# by range, which no generic index serves). On SQLite the same definitions are plain indexes.
for _table, _column in ((runs, "hyperparameters"), (runs, "tags"), (simulations, "tags"), (simulations, "config")):
    Index(
        f"ix_{_table.name}_{_column}_gin",
        _table.c[_column],
        postgresql_using="gin",
        postgresql_ops={_column: "jsonb_path_ops"},
    )
# "Failed runs of last week, newest first": status equality, then the list order.
Index("ix_walkforward_runs_status_created_at", runs.c.status, runs.c.created_at)
Index("ix_simulation_runs_status_created_at", simulations.c.status, simulations.c.created_at)

# One row per measurement name a record holds, so that every process (not just one) sees who writes it.
measurement_names = Table(
    "stage1_measurement_names",
    metadata,
    Column("name", String(127), primary_key=True),
    Column("owner_kind", String(16), nullable=False),
    Column("owner_id", Uuid(), nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("lease_until", UtcDateTime()),
    Index(None, "owner_id"),
)

# Credential tries and failures per client address, shared by every server process on one Postgres (a guesser
# must not get one budget per process). Times are epoch seconds, as the lockout policy counts them.
auth_attempts = Table(
    "stage1_auth_attempts",
    metadata,
    Column("client", String(200), primary_key=True),
    Column("failures", Integer(), nullable=False),
    Column("locked_until", Double(), nullable=False),
    Column("last_failure", Double(), nullable=False),
    Column("minute", BigInteger(), nullable=False),
    Column("tries", Integer(), nullable=False),
)
