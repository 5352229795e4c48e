"""Measurement names reserved in the database, one holder each, seen by every process.

Existing records keep their names: each one's measurements are entered as OWNED by it (where two legacy
records share a name, the first one entered keeps it).

Revision ID: 0007_measurement_names
Revises: 0006_search_indexes
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_measurement_names"
down_revision: str | Sequence[str] | None = "0006_search_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "stage1_measurement_names"

# (name column, owner kind, owner id column, source table), in the order that decides a legacy tie.
OWNERS = (
    ("ohlcv_measurement", "dataset", "dataset_id", "stage1_datasets"),
    ("indicator_measurement", "dataset", "dataset_id", "stage1_datasets"),
    ("prediction_measurement", "run", "run_id", "walkforward_runs"),
    ("trades_measurement", "simulation", "simulation_id", "simulation_runs"),
)


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("name", sa.String(127), nullable=False),
        sa.Column("owner_kind", sa.String(16), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_stage1_measurement_names"),
    )
    op.create_index("ix_stage1_measurement_names_owner_id", TABLE, ["owner_id"])
    for column, kind, ident, source in OWNERS:
        # The WHERE clause also lets SQLite tell the upsert clause from a join constraint.
        op.execute(
            f"INSERT INTO {TABLE} (name, owner_kind, owner_id, state, created_at) "
            f"SELECT {column}, '{kind}', {ident}, 'owned', created_at FROM {source} "
            f"WHERE {column} IS NOT NULL ON CONFLICT (name) DO NOTHING"
        )


def downgrade() -> None:
    op.drop_index("ix_stage1_measurement_names_owner_id", table_name=TABLE)
    op.drop_table(TABLE)
