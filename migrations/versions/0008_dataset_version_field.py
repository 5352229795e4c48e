"""Runs and simulations record the dataset version they were saved against (issue #11: stale results).

Null for records saved before datasets had versions; a later migration fills in the version that
existing datasets are given.

Revision ID: 0008_dataset_version_field
Revises: 0007_measurement_names
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_dataset_version_field"
down_revision: str | Sequence[str] | None = "0007_measurement_names"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("walkforward_runs", "simulation_runs")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("dataset_version", sa.BigInteger()))


def downgrade() -> None:
    for table in TABLES:
        op.drop_column(table, "dataset_version")
