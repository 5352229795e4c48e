"""Runs keep what the walk-forward checks found in their predictions (issue #9 item 4).

Revision ID: 0009_run_checks
Revises: 0008_dataset_version_field
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0009_run_checks"
down_revision: str | Sequence[str] | None = "0008_dataset_version_field"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: a run saved before the checks existed was never checked, which is not the same as clean.
    op.add_column("walkforward_runs", sa.Column("checks", sa.JSON().with_variant(JSONB(), "postgresql")))


def downgrade() -> None:
    op.drop_column("walkforward_runs", "checks")
