"""Numeric summary metrics as rows, so that search can sort by a metric through an index (issue #12).

`walkforward_run_metric_values (run_id, key, value)` and `simulation_run_metric_values (simulation_id,
key, value)` hold each summary metric whose JSON value is a number, as a double, indexed by (key, value,
id). A search sorted by `metrics.<key>` walks that index in order and stops after one page, where it had
to read and sort every match of the JSON before. Triggers keep the rows in step with `summary_metrics` on
every insert and change, whoever writes (the repositories, a COPY, a desktop writing the tables
directly), and the foreign key removes them with their run or simulation. Existing rows are filled in
here. Down drops the triggers and the tables; nothing else reads them.

Revision ID: 0013_metric_values
Revises: 0012_dataset_versions
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_metric_values"
down_revision: str | Sequence[str] | None = "0012_dataset_versions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (side table, owner table, owner key)
SIDES = (
    ("walkforward_run_metric_values", "walkforward_runs", "run_id"),
    ("simulation_run_metric_values", "simulation_runs", "simulation_id"),
)

# A JSON number as a double: numbers beyond a double's range (JSON allows them, a double refuses them)
# are clamped, so that a save never fails on them and their order among the others holds.
PG_FLOAT = """
CREATE FUNCTION stage1_json_double(value jsonb) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT CASE
        WHEN abs(n) > 1.7976931348623157e308 THEN sign(n) * 1.7976931348623157e308
        WHEN abs(n) < 2.2250738585072014e-308 THEN 0
        ELSE n
    END::double precision
    FROM (SELECT value::numeric AS n) AS number
$$
"""


def _pg_numbers(owner_row: str, key: str, source: str = "") -> str:
    """The (id, key, value) rows of the numeric metrics of `owner_row` (NEW, or each row of `source`)."""
    metrics = f"{owner_row}.summary_metrics"
    return (
        f"SELECT {owner_row}.{key}, e.key, stage1_json_double(e.value) "
        f"FROM {source}jsonb_each(CASE WHEN jsonb_typeof({metrics}) = 'object' THEN {metrics} ELSE '{{}}' END) AS e "
        "WHERE jsonb_typeof(e.value) = 'number'"
    )


def _sqlite_numbers(owner_row: str, key: str, source: str = "") -> str:
    metrics = f"{owner_row}.summary_metrics"
    return (
        f"SELECT {owner_row}.{key}, e.key, e.value FROM {source}json_each({metrics}) AS e "
        f"WHERE json_type({metrics}) = 'object' AND e.type IN ('integer', 'real')"
    )


def _postgres_up(side: str, owner: str, key: str) -> None:
    op.execute(
        f"""
CREATE FUNCTION {side}_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM {side} WHERE {key} = OLD.{key};
    END IF;
    INSERT INTO {side} ({key}, key, value) {_pg_numbers("NEW", key)};
    RETURN NULL;
END
$$
"""
    )
    op.execute(f"CREATE TRIGGER {side}_insert AFTER INSERT ON {owner} FOR EACH ROW EXECUTE FUNCTION {side}_sync()")
    op.execute(
        f"CREATE TRIGGER {side}_update AFTER UPDATE OF summary_metrics ON {owner} FOR EACH ROW "
        f"WHEN (OLD.summary_metrics IS DISTINCT FROM NEW.summary_metrics) EXECUTE FUNCTION {side}_sync()"
    )
    op.execute(f"INSERT INTO {side} ({key}, key, value) {_pg_numbers(owner, key, f'{owner}, ')}")


def _sqlite_up(side: str, owner: str, key: str) -> None:
    insert = f"INSERT INTO {side} ({key}, key, value) {_sqlite_numbers('NEW', key)};"
    op.execute(f"CREATE TRIGGER {side}_insert AFTER INSERT ON {owner} BEGIN {insert} END")
    op.execute(
        f"CREATE TRIGGER {side}_update AFTER UPDATE OF summary_metrics ON {owner} "
        f"WHEN OLD.summary_metrics IS NOT NEW.summary_metrics "
        f"BEGIN DELETE FROM {side} WHERE {key} = OLD.{key}; {insert} END"
    )
    op.execute(f"INSERT INTO {side} ({key}, key, value) {_sqlite_numbers(owner, key, f'{owner}, ')}")


def _postgres() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    if _postgres():
        op.execute(PG_FLOAT)
    for side, owner, key in SIDES:
        op.create_table(
            side,
            sa.Column(key, sa.Uuid(), nullable=False),
            sa.Column("key", sa.Text(), nullable=False),
            sa.Column("value", sa.Double(), nullable=False),
            sa.ForeignKeyConstraint([key], [f"{owner}.{key}"], name=f"fk_{side}_{key}_{owner}", ondelete="CASCADE"),
            sa.PrimaryKeyConstraint(key, "key", name=f"pk_{side}"),
        )
        (_postgres_up if _postgres() else _sqlite_up)(side, owner, key)
        # After the fill: one sorted build is faster than growing the index row by row.
        op.create_index(f"ix_{side}_key_value_{key}", side, ["key", "value", key])


def downgrade() -> None:
    for side, owner, _key in reversed(SIDES):
        op.execute(f"DROP TRIGGER IF EXISTS {side}_update" + (f" ON {owner}" if _postgres() else ""))
        op.execute(f"DROP TRIGGER IF EXISTS {side}_insert" + (f" ON {owner}" if _postgres() else ""))
        if _postgres():
            op.execute(f"DROP FUNCTION IF EXISTS {side}_sync()")
        op.drop_table(side)
    if _postgres():
        op.execute("DROP FUNCTION IF EXISTS stage1_json_double(jsonb)")
