"""An idempotency record stores the outcome (did the first write create its record), not an HTTP status.

Revision ID: 0005_idempotency_outcome
Revises: 0004_run_labels
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_idempotency_outcome"
down_revision: str | Sequence[str] | None = "0004_run_labels"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _both_columns() -> sa.Table:
    """The table while it holds both columns: SQLite rebuilds it from this, so `--sql` works offline too."""
    json: sa.types.TypeEngine[Any] = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    return sa.Table(
        "stage1_idempotency",
        sa.MetaData(),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("request_hash", sa.String(128), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", json, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("key", "scope", name="pk_stage1_idempotency"),
        sa.Index("ix_stage1_idempotency_created_at", "created_at"),
    )


def upgrade() -> None:
    op.add_column("stage1_idempotency", sa.Column("created", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE stage1_idempotency SET created = (status_code = 201)")
    with op.batch_alter_table("stage1_idempotency", copy_from=_both_columns()) as batch:
        batch.alter_column("created", server_default=None)
        batch.drop_column("status_code")


def downgrade() -> None:
    op.add_column("stage1_idempotency", sa.Column("status_code", sa.Integer(), nullable=False, server_default="200"))
    op.execute("UPDATE stage1_idempotency SET status_code = CASE WHEN created THEN 201 ELSE 200 END")
    with op.batch_alter_table("stage1_idempotency", copy_from=_both_columns()) as batch:
        batch.alter_column("status_code", server_default=None)
        batch.drop_column("created")
