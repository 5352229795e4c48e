"""The job table's lease and idempotency indexes hold only the rows they are asked about (issue #16).

A job's status changes (submitted, claimed, finished) each write a new row version, and each version gets
an entry in every index of `stage1_jobs` whose predicate it meets. The lease index was on
`(status, lease_expires_at)` for every row, though only RUNNING rows are ever looked up in it (expired
leases); the idempotency key's unique constraint indexed every row, though most jobs have no key. Both
become partial indexes: `lease_expires_at WHERE status = 'RUNNING'` and a unique `idempotency_key WHERE
idempotency_key IS NOT NULL`, which still refuses a second job with the same key. A job now writes 8
index entries over its life instead of 15.

On Postgres the table also gets fillfactor 80, so that a version written by a progress report (no indexed
column changes) finds room on its page and is a heap-only update.

Down restores the full index, the unique constraint and the default fillfactor.

Revision ID: 0014_job_partial_indexes
Revises: 0013_metric_values
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0014_job_partial_indexes"
down_revision: str | Sequence[str] | None = "0013_metric_values"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "stage1_jobs"
LEASE = "ix_stage1_jobs_lease"
KEY = "uq_stage1_jobs_idempotency_key"
RUNNING = sa.text("status = 'RUNNING'")
KEYED = sa.text("idempotency_key IS NOT NULL")


def _jobs_before(*, unique_key: bool) -> sa.Table:
    """`stage1_jobs` as revisions 0002-0013 left it: SQLite's table rebuild copies from it, so that the
    migration also runs offline (`upgrade --sql`), where there is no database to reflect."""
    def at(name: str, nullable: bool = True) -> sa.Column[Any]:
        return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)

    return sa.Table(
        TABLE,
        sa.MetaData(),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("progress", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("total", sa.BigInteger()),
        sa.Column("message", sa.Text()),
        sa.Column("result", sa.JSON()),
        sa.Column("error", sa.Text()),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("max_attempts", sa.Integer(), nullable=False, server_default=sa.text("3")),
        sa.Column("priority", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("worker_id", sa.String(128)),
        at("created_at", nullable=False),
        at("updated_at", nullable=False),
        at("started_at"),
        at("completed_at"),
        at("run_after"),
        at("lease_expires_at"),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("idempotency_key", sa.String(200)),
        sa.PrimaryKeyConstraint("job_id", name="pk_stage1_jobs"),
        *([sa.UniqueConstraint("idempotency_key", name=KEY)] if unique_key else []),
        sa.Index("ix_stage1_jobs_claim", "status", sa.text("priority DESC"), "run_after", "created_at"),
        sa.Index(LEASE, "status", "lease_expires_at"),
        sa.Index("ix_stage1_jobs_created_at_job_id", "created_at", "job_id"),
    )


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if _postgres():
        op.drop_constraint(KEY, TABLE, type_="unique")
        op.execute(f"ALTER TABLE {TABLE} SET (fillfactor = 80)")
    else:
        # SQLite keeps a table's unique constraints in its CREATE TABLE: dropping one rebuilds the table.
        with op.batch_alter_table(TABLE, copy_from=_jobs_before(unique_key=True)) as table:
            table.drop_constraint(KEY, type_="unique")
    op.create_index(KEY, TABLE, ["idempotency_key"], unique=True, postgresql_where=KEYED, sqlite_where=KEYED)
    op.drop_index(LEASE, TABLE)
    op.create_index(LEASE, TABLE, ["lease_expires_at"], postgresql_where=RUNNING, sqlite_where=RUNNING)


def downgrade() -> None:
    op.drop_index(LEASE, TABLE)
    op.create_index(LEASE, TABLE, ["status", "lease_expires_at"])
    op.drop_index(KEY, TABLE)
    if _postgres():
        op.execute(f"ALTER TABLE {TABLE} RESET (fillfactor)")
        op.create_unique_constraint(KEY, TABLE, ["idempotency_key"])
    else:
        with op.batch_alter_table(TABLE, copy_from=_jobs_before(unique_key=False)) as table:
            table.create_unique_constraint(KEY, ["idempotency_key"])
