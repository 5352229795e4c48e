"""Numeric hyperparameters of runs as rows, and runs' ids by status, so that a search narrows by a numeric
hyperparameter range through indexes (issue #12).

`walkforward_run_param_values (run_id, key, value)` holds each hyperparameter whose JSON value is a number,
as a double, indexed by (key, value, run_id), as 0013 does for summary metrics. `params.eta < 0.1` had no
statistics and no index as a JSON expression, so such a search read every run of its status from the wide
runs table. With this table a range of any hyperparameter is one index-only range scan, and with the
(status, run_id) index a status is one too: search intersects those id sets before it reads a run
(`adapters/sql/search_narrowing.py`). Triggers keep the rows in step with `hyperparameters` on every insert
and change, whoever writes; existing rows are filled in here. Down drops the triggers, table and index.

Revision ID: 0015_param_values
Revises: 0014_job_partial_indexes
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_param_values"
down_revision: str | Sequence[str] | None = "0014_job_partial_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIDE, OWNER, KEY, DOCUMENT = "walkforward_run_param_values", "walkforward_runs", "run_id", "hyperparameters"
STATUS_INDEX = "ix_walkforward_runs_status_run_id"


def _pg_numbers(owner_row: str, source: str = "") -> str:
    # stage1_json_double (migration 0013): a JSON number as a double, clamped to a double's range.
    doc = f"{owner_row}.{DOCUMENT}"
    return (
        f"SELECT {owner_row}.{KEY}, e.key, stage1_json_double(e.value) "
        f"FROM {source}jsonb_each(CASE WHEN jsonb_typeof({doc}) = 'object' THEN {doc} ELSE '{{}}' END) AS e "
        "WHERE jsonb_typeof(e.value) = 'number'"
    )


def _sqlite_numbers(owner_row: str, source: str = "") -> str:
    doc = f"{owner_row}.{DOCUMENT}"
    return (
        f"SELECT {owner_row}.{KEY}, e.key, e.value FROM {source}json_each({doc}) AS e "
        f"WHERE json_type({doc}) = 'object' AND e.type IN ('integer', 'real')"
    )


def _postgres() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    op.create_table(
        SIDE,
        sa.Column(KEY, sa.Uuid(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint([KEY], [f"{OWNER}.{KEY}"], name=f"fk_{SIDE}_{KEY}_{OWNER}", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint(KEY, "key", name=f"pk_{SIDE}"),
    )
    if _postgres():
        op.execute(
            f"""
CREATE FUNCTION {SIDE}_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM {SIDE} WHERE {KEY} = OLD.{KEY};
    END IF;
    INSERT INTO {SIDE} ({KEY}, key, value) {_pg_numbers("NEW")};
    RETURN NULL;
END
$$
"""
        )
        op.execute(f"CREATE TRIGGER {SIDE}_insert AFTER INSERT ON {OWNER} FOR EACH ROW EXECUTE FUNCTION {SIDE}_sync()")
        op.execute(
            f"CREATE TRIGGER {SIDE}_update AFTER UPDATE OF {DOCUMENT} ON {OWNER} FOR EACH ROW "
            f"WHEN (OLD.{DOCUMENT} IS DISTINCT FROM NEW.{DOCUMENT}) EXECUTE FUNCTION {SIDE}_sync()"
        )
        op.execute(f"INSERT INTO {SIDE} ({KEY}, key, value) {_pg_numbers(OWNER, f'{OWNER}, ')}")
    else:
        insert = f"INSERT INTO {SIDE} ({KEY}, key, value) {_sqlite_numbers('NEW')};"
        op.execute(f"CREATE TRIGGER {SIDE}_insert AFTER INSERT ON {OWNER} BEGIN {insert} END")
        op.execute(
            f"CREATE TRIGGER {SIDE}_update AFTER UPDATE OF {DOCUMENT} ON {OWNER} "
            f"WHEN OLD.{DOCUMENT} IS NOT NEW.{DOCUMENT} "
            f"BEGIN DELETE FROM {SIDE} WHERE {KEY} = OLD.{KEY}; {insert} END"
        )
        op.execute(f"INSERT INTO {SIDE} ({KEY}, key, value) {_sqlite_numbers(OWNER, f'{OWNER}, ')}")
    # After the fill: one sorted build is faster than growing the index row by row.
    op.create_index(f"ix_{SIDE}_key_value_{KEY}", SIDE, ["key", "value", KEY])
    op.create_index(STATUS_INDEX, OWNER, ["status", KEY])


def downgrade() -> None:
    op.drop_index(STATUS_INDEX, table_name=OWNER)
    op.execute(f"DROP TRIGGER IF EXISTS {SIDE}_update" + (f" ON {OWNER}" if _postgres() else ""))
    op.execute(f"DROP TRIGGER IF EXISTS {SIDE}_insert" + (f" ON {OWNER}" if _postgres() else ""))
    if _postgres():
        op.execute(f"DROP FUNCTION IF EXISTS {SIDE}_sync()")
    op.drop_table(SIDE)
