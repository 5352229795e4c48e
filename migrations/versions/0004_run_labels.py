"""Runs and simulations gain a name, tags and notes (issue #12: find and compare).

Revision ID: 0004_run_labels
Revises: 0003_pg_objects
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0004_run_labels"
down_revision: str | Sequence[str] | None = "0003_pg_objects"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("walkforward_runs", "simulation_runs")


def upgrade() -> None:
    tags = sa.JSON().with_variant(JSONB(), "postgresql")
    # Plain ADD COLUMN (a constant default is enough for NOT NULL), so SQLite needs no table copy
    # and the offline `--sql` upgrade can print it.
    for table in TABLES:
        op.add_column(table, sa.Column("name", sa.String(200)))
        op.add_column(table, sa.Column("tags", tags, nullable=False, server_default=sa.text("'{}'")))
        op.add_column(table, sa.Column("notes", sa.Text()))


def downgrade() -> None:
    # DROP COLUMN: SQLite has it since 3.35.
    for table in TABLES:
        for column in ("notes", "tags", "name"):
            op.drop_column(table, column)
