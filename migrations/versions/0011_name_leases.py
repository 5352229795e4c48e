"""A LANDING measurement-name reservation carries a lease its save renews: one whose process died lapses,
and the name can be taken over or released.

Revision ID: 0011_name_leases
Revises: 0010_auth_attempts
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_name_leases"
down_revision: str | Sequence[str] | None = "0010_auth_attempts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "stage1_measurement_names"


def upgrade() -> None:
    # Reservations already LANDING keep a null lease: nothing can tell whether their save is alive.
    with op.batch_alter_table(TABLE) as table:
        table.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table(TABLE) as table:
        table.drop_column("lease_until")
