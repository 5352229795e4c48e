"""Jobs, the event log behind SSE resume, idempotency records and API tokens.

Revision ID: 0002_jobs
Revises: 0001_core
Create Date: 2025-11-10
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_jobs"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json(nullable: bool = False) -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=nullable).with_variant(postgresql.JSONB(none_as_null=nullable), "postgresql")


def _at(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "stage1_jobs",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("progress", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("total", sa.BigInteger()),
        sa.Column("message", sa.Text()),
        sa.Column("result", _json(nullable=True)),
        sa.Column("error", sa.Text()),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("max_attempts", sa.Integer(), nullable=False, server_default=sa.text("3")),
        sa.Column("priority", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("worker_id", sa.String(128)),
        _at("created_at"),
        _at("updated_at"),
        _at("started_at", nullable=True),
        _at("completed_at", nullable=True),
        _at("run_after", nullable=True),
        _at("lease_expires_at", nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("idempotency_key", sa.String(200)),
        sa.PrimaryKeyConstraint("job_id", name="pk_stage1_jobs"),
        sa.UniqueConstraint("idempotency_key", name="uq_stage1_jobs_idempotency_key"),
    )
    op.create_index(
        "ix_stage1_jobs_claim",
        "stage1_jobs",
        ["status", sa.text("priority DESC"), "run_after", "created_at"],
        postgresql_where=sa.text("status = 'PENDING'"),
    )
    op.create_index("ix_stage1_jobs_lease", "stage1_jobs", ["status", "lease_expires_at"])
    op.create_index("ix_stage1_jobs_created_at_job_id", "stage1_jobs", ["created_at", "job_id"])

    op.create_table(
        "stage1_events",
        sa.Column(
            "event_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            autoincrement=True,
        ),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("data", _json(), nullable=False),
        _at("created_at"),
        sa.PrimaryKeyConstraint("event_id", name="pk_stage1_events"),
    )
    op.create_index("ix_stage1_events_created_at", "stage1_events", ["created_at"])

    op.create_table(
        "stage1_idempotency",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("request_hash", sa.String(128), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", _json(), nullable=False),
        _at("created_at"),
        sa.PrimaryKeyConstraint("key", "scope", name="pk_stage1_idempotency"),
    )
    op.create_index("ix_stage1_idempotency_created_at", "stage1_idempotency", ["created_at"])

    op.create_table(
        "stage1_api_tokens",
        sa.Column("token_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("token_hash", sa.String(128), nullable=False),
        _at("created_at"),
        _at("expires_at", nullable=True),
        _at("last_used_at", nullable=True),
        _at("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("token_id", name="pk_stage1_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_stage1_api_tokens_token_hash"),
    )
    op.create_index("ix_stage1_api_tokens_created_at_token_id", "stage1_api_tokens", ["created_at", "token_id"])


def downgrade() -> None:
    op.drop_table("stage1_api_tokens")
    op.drop_table("stage1_idempotency")
    op.drop_table("stage1_events")
    op.drop_table("stage1_jobs")
