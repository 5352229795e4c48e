"""Credential tries and failures per client address, in the database so every server process sees them.

Revision ID: 0010_auth_attempts
Revises: 0009_run_checks
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_auth_attempts"
down_revision: str | Sequence[str] | None = "0009_run_checks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "stage1_auth_attempts"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("client", sa.String(200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.Double(), nullable=False),
        sa.Column("last_failure", sa.Double(), nullable=False),
        sa.Column("minute", sa.BigInteger(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("client", name="pk_stage1_auth_attempts"),
    )


def downgrade() -> None:
    op.drop_table(TABLE)
