"""Indexes for search: GIN (jsonb_path_ops) on the JSON that filters match exactly, status + created_at.

Revision ID: 0006_search_indexes
Revises: 0005_idempotency_outcome
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006_search_indexes"
down_revision: str | Sequence[str] | None = "0005_idempotency_outcome"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_INDEXED = (
    ("walkforward_runs", "hyperparameters"),
    ("walkforward_runs", "tags"),
    ("simulation_runs", "tags"),
    ("simulation_runs", "config"),
)
STATUS_INDEXED = ("walkforward_runs", "simulation_runs")


def upgrade() -> None:
    for table, column in JSON_INDEXED:
        op.create_index(
            f"ix_{table}_{column}_gin",
            table,
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "jsonb_path_ops"},
        )
    for table in STATUS_INDEXED:
        op.create_index(f"ix_{table}_status_created_at", table, ["status", "created_at"])


def downgrade() -> None:
    for table in STATUS_INDEXED:
        op.drop_index(f"ix_{table}_status_created_at", table_name=table)
    for table, column in JSON_INDEXED:
        op.drop_index(f"ix_{table}_{column}_gin", table_name=table)
