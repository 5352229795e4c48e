"""Core metadata: datasets (and their legacy mirror), walk-forward runs and folds, simulations.

Revision ID: 0001_core
Revises:
Create Date: 2025-11-10
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_core"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _at(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "stage1_datasets",
        sa.Column("dataset_id", sa.Uuid(), nullable=False),
        sa.Column("dataset_slug", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(256)),
        sa.Column("granularity", sa.String(256)),
        sa.Column("source", sa.String(256)),
        sa.Column("ohlcv_measurement", sa.String(127), nullable=False),
        sa.Column("indicator_measurement", sa.String(127), nullable=False),
        sa.Column("ohlcv_rows", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("indicator_rows", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("ohlcv_first_ts", sa.BigInteger()),
        sa.Column("ohlcv_last_ts", sa.BigInteger()),
        sa.Column("indicator_first_ts", sa.BigInteger()),
        sa.Column("indicator_last_ts", sa.BigInteger()),
        sa.Column("metadata", _json(), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("dataset_id", name="pk_stage1_datasets"),
        sa.UniqueConstraint("dataset_slug", name="uq_stage1_datasets_dataset_slug"),
    )
    op.create_index("ix_stage1_datasets_created_at", "stage1_datasets", ["created_at"])

    op.create_table(
        "indicator_datasets",
        sa.Column("dataset_id", sa.Uuid(), nullable=False),
        sa.Column("dataset_slug", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(256)),
        sa.Column("granularity", sa.String(256)),
        sa.Column("measurement", sa.String(127), nullable=False),
        sa.Column("ohlcv_measurement", sa.String(127)),
        sa.Column("row_count", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("first_ts", sa.BigInteger()),
        sa.Column("last_ts", sa.BigInteger()),
        _at("created_at"),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("dataset_id", name="pk_indicator_datasets"),
        sa.UniqueConstraint("dataset_slug", name="uq_indicator_datasets_dataset_slug"),
    )

    op.create_table(
        "walkforward_runs",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("dataset_id", sa.Uuid(), nullable=False),
        sa.Column("dataset_slug", sa.String(64), nullable=False),
        sa.Column("prediction_measurement", sa.String(127), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("target_column", sa.String(256)),
        sa.Column("feature_columns", _json(), nullable=False),
        sa.Column("walk_config", _json(), nullable=False),
        sa.Column("hyperparameters", _json(), nullable=False),
        sa.Column("summary_metrics", _json(), nullable=False),
        sa.Column("fold_count", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("clipboard_text", sa.Text()),
        _at("started_at", nullable=True),
        _at("completed_at", nullable=True),
        _at("created_at"),
        sa.PrimaryKeyConstraint("run_id", name="pk_walkforward_runs"),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["stage1_datasets.dataset_id"],
            name="fk_walkforward_runs_dataset_id_stage1_datasets",
        ),
    )
    op.create_index("ix_walkforward_runs_dataset_id", "walkforward_runs", ["dataset_id"])
    op.create_index("ix_walkforward_runs_created_at_run_id", "walkforward_runs", ["created_at", "run_id"])
    op.create_index("ix_walkforward_runs_prediction_measurement", "walkforward_runs", ["prediction_measurement"])

    op.create_table(
        "walkforward_folds",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("fold_number", sa.Integer(), nullable=False),
        *(
            sa.Column(name, sa.BigInteger())
            for name in (
                "train_start",
                "train_end",
                "test_start",
                "test_end",
                "train_start_ts",
                "train_end_ts",
                "test_start_ts",
                "test_end_ts",
            )
        ),
        sa.Column("thresholds", _json(), nullable=False),
        sa.Column("metrics", _json(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "fold_number", name="pk_walkforward_folds"),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["walkforward_runs.run_id"],
            ondelete="CASCADE",
            name="fk_walkforward_folds_run_id_walkforward_runs",
        ),
    )

    op.create_table(
        "simulation_runs",
        sa.Column("simulation_id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("dataset_id", sa.Uuid(), nullable=False),
        sa.Column("trades_measurement", sa.String(127), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("config", _json(), nullable=False),
        sa.Column("summary_metrics", _json(), nullable=False),
        sa.Column("trade_count", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        _at("started_at", nullable=True),
        _at("completed_at", nullable=True),
        _at("created_at"),
        sa.PrimaryKeyConstraint("simulation_id", name="pk_simulation_runs"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["walkforward_runs.run_id"], name="fk_simulation_runs_run_id_walkforward_runs"
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["stage1_datasets.dataset_id"],
            name="fk_simulation_runs_dataset_id_stage1_datasets",
        ),
    )
    op.create_index("ix_simulation_runs_run_id", "simulation_runs", ["run_id"])
    op.create_index("ix_simulation_runs_dataset_id", "simulation_runs", ["dataset_id"])
    op.create_index("ix_simulation_runs_created_at_simulation_id", "simulation_runs", ["created_at", "simulation_id"])
    op.create_index("ix_simulation_runs_trades_measurement", "simulation_runs", ["trades_measurement"])

    op.create_table(
        "simulation_trade_buckets",
        sa.Column("simulation_id", sa.Uuid(), nullable=False),
        sa.Column("bucket", sa.String(64), nullable=False),
        sa.Column("trade_count", sa.BigInteger(), nullable=False),
        sa.Column("win_count", sa.BigInteger(), nullable=False),
        sa.Column("loss_count", sa.BigInteger(), nullable=False),
        *(
            sa.Column(name, sa.Double(), nullable=False)
            for name in ("total_pnl", "avg_pnl", "avg_return_pct", "max_win", "max_loss")
        ),
        sa.PrimaryKeyConstraint("simulation_id", "bucket", name="pk_simulation_trade_buckets"),
        sa.ForeignKeyConstraint(
            ["simulation_id"],
            ["simulation_runs.simulation_id"],
            ondelete="CASCADE",
            name="fk_simulation_trade_buckets_simulation_id_simulation_runs",
        ),
    )

    op.create_table(
        "simulation_trades",
        sa.Column("simulation_id", sa.Uuid(), nullable=False),
        sa.Column("trade_id", sa.BigInteger(), nullable=False),
        sa.Column("bar_timestamp", sa.BigInteger(), nullable=False),
        sa.Column("entry_timestamp", sa.BigInteger()),
        sa.Column("exit_timestamp", sa.BigInteger()),
        sa.Column("side", sa.String(8), nullable=False),
        *(
            sa.Column(name, sa.Double())
            for name in ("entry_price", "exit_price", "quantity", "pnl", "return_pct", "fees")
        ),
        sa.Column("fold_number", sa.Integer()),
        sa.PrimaryKeyConstraint("simulation_id", "trade_id", name="pk_simulation_trades"),
        sa.ForeignKeyConstraint(
            ["simulation_id"],
            ["simulation_runs.simulation_id"],
            ondelete="CASCADE",
            name="fk_simulation_trades_simulation_id_simulation_runs",
        ),
    )
    op.create_index(
        "ix_simulation_trades_simulation_id_bar_timestamp_trade_id",
        "simulation_trades",
        ["simulation_id", "bar_timestamp", "trade_id"],
    )


def downgrade() -> None:
    op.drop_table("simulation_trades")
    op.drop_table("simulation_trade_buckets")
    op.drop_table("simulation_runs")
    op.drop_table("walkforward_folds")
    op.drop_table("walkforward_runs")
    op.drop_table("indicator_datasets")
    op.drop_table("stage1_datasets")
