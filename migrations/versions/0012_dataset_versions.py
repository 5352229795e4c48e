"""Dataset versions (issue #11): a version row per change of a dataset's rows, and the version itself.

Existing datasets that hold rows get version 1 (their stored counts and bounds; the checksums stay null
until the next write reads the rows back), and their runs and simulations that version. On Postgres,
`upsert_stage1_dataset` called directly records a version too when the counts or bounds it is given
change anything; without the rows at hand it cannot tell where they changed, so `changed_from_ts` is
null there, which marks every result saved before it as stale.

Revision ID: 0012_dataset_versions
Revises: 0011_name_leases
Create Date: 2026-11-30
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "0012_dataset_versions"
down_revision: str | Sequence[str] | None = "0011_name_leases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = (
    "ohlcv_rows, indicator_rows, ohlcv_first_ts, ohlcv_last_ts, indicator_first_ts, indicator_last_ts"
)

FIRST_VERSIONS = f"""
INSERT INTO stage1_dataset_versions (dataset_id, version, created_at, {COUNTS})
SELECT dataset_id, 1, updated_at, {COUNTS} FROM stage1_datasets
WHERE ohlcv_rows > 0 OR indicator_rows > 0
"""

UPSERT_WITH_VERSIONS = """
CREATE OR REPLACE FUNCTION upsert_stage1_dataset(
    p_slug text,
    p_symbol text DEFAULT NULL,
    p_granularity text DEFAULT NULL,
    p_source text DEFAULT NULL,
    p_ohlcv_measurement text DEFAULT NULL,
    p_indicator_measurement text DEFAULT NULL,
    p_ohlcv_rows bigint DEFAULT NULL,
    p_indicator_rows bigint DEFAULT NULL,
    p_ohlcv_first_ts bigint DEFAULT NULL,
    p_ohlcv_last_ts bigint DEFAULT NULL,
    p_indicator_first_ts bigint DEFAULT NULL,
    p_indicator_last_ts bigint DEFAULT NULL,
    p_metadata jsonb DEFAULT NULL
) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid;
    v_old stage1_datasets%ROWTYPE;
    v_new stage1_datasets%ROWTYPE;
BEGIN
    SELECT * INTO v_old FROM stage1_datasets WHERE dataset_slug = p_slug FOR UPDATE;

    INSERT INTO stage1_datasets AS d (
        dataset_id, dataset_slug, symbol, granularity, source, ohlcv_measurement, indicator_measurement,
        ohlcv_rows, indicator_rows, ohlcv_first_ts, ohlcv_last_ts, indicator_first_ts, indicator_last_ts,
        metadata, created_at, updated_at
    ) VALUES (
        gen_random_uuid(), p_slug, p_symbol, p_granularity, p_source,
        COALESCE(p_ohlcv_measurement, p_slug || '_ohlcv'),
        COALESCE(p_indicator_measurement, p_slug || '_ind'),
        COALESCE(p_ohlcv_rows, 0), COALESCE(p_indicator_rows, 0),
        p_ohlcv_first_ts, p_ohlcv_last_ts, p_indicator_first_ts, p_indicator_last_ts,
        COALESCE(p_metadata, '{}'::jsonb), now(), now()
    )
    ON CONFLICT (dataset_slug) DO UPDATE SET
        symbol = COALESCE(p_symbol, d.symbol),
        granularity = COALESCE(p_granularity, d.granularity),
        source = COALESCE(p_source, d.source),
        ohlcv_measurement = COALESCE(p_ohlcv_measurement, d.ohlcv_measurement),
        indicator_measurement = COALESCE(p_indicator_measurement, d.indicator_measurement),
        ohlcv_rows = COALESCE(p_ohlcv_rows, d.ohlcv_rows),
        indicator_rows = COALESCE(p_indicator_rows, d.indicator_rows),
        ohlcv_first_ts = COALESCE(p_ohlcv_first_ts, d.ohlcv_first_ts),
        ohlcv_last_ts = COALESCE(p_ohlcv_last_ts, d.ohlcv_last_ts),
        indicator_first_ts = COALESCE(p_indicator_first_ts, d.indicator_first_ts),
        indicator_last_ts = COALESCE(p_indicator_last_ts, d.indicator_last_ts),
        metadata = COALESCE(p_metadata, d.metadata),
        updated_at = now()
    RETURNING d.dataset_id INTO v_id;

    -- A change of the rows (as far as counts and bounds tell) is a new version; where the rows changed
    -- is unknown here, so changed_from_ts stays null.
    SELECT * INTO v_new FROM stage1_datasets WHERE dataset_id = v_id;
    IF (v_new.ohlcv_rows > 0 OR v_new.indicator_rows > 0) AND (
        v_old.dataset_id IS NULL OR
        (v_new.ohlcv_rows, v_new.indicator_rows, v_new.ohlcv_first_ts, v_new.ohlcv_last_ts,
         v_new.indicator_first_ts, v_new.indicator_last_ts)
        IS DISTINCT FROM
        (v_old.ohlcv_rows, v_old.indicator_rows, v_old.ohlcv_first_ts, v_old.ohlcv_last_ts,
         v_old.indicator_first_ts, v_old.indicator_last_ts)
    ) THEN
        INSERT INTO stage1_dataset_versions (
            dataset_id, version, created_at, ohlcv_rows, indicator_rows, ohlcv_first_ts, ohlcv_last_ts,
            indicator_first_ts, indicator_last_ts
        ) VALUES (
            v_id, v_new.version + 1, now(), v_new.ohlcv_rows, v_new.indicator_rows, v_new.ohlcv_first_ts,
            v_new.ohlcv_last_ts, v_new.indicator_first_ts, v_new.indicator_last_ts
        );
        UPDATE stage1_datasets SET version = v_new.version + 1 WHERE dataset_id = v_id;
    END IF;

    DELETE FROM indicator_datasets l WHERE l.dataset_slug = p_slug AND l.dataset_id <> v_id;

    INSERT INTO indicator_datasets AS l (
        dataset_id, dataset_slug, symbol, granularity, measurement, ohlcv_measurement,
        row_count, first_ts, last_ts, created_at, updated_at
    )
    SELECT d.dataset_id, d.dataset_slug, d.symbol, d.granularity,
           d.indicator_measurement, d.ohlcv_measurement,
           d.indicator_rows, d.indicator_first_ts, d.indicator_last_ts, d.created_at, d.updated_at
    FROM stage1_datasets d WHERE d.dataset_id = v_id
    ON CONFLICT (dataset_id) DO UPDATE SET
        dataset_slug = EXCLUDED.dataset_slug,
        symbol = EXCLUDED.symbol,
        granularity = EXCLUDED.granularity,
        measurement = EXCLUDED.measurement,
        ohlcv_measurement = EXCLUDED.ohlcv_measurement,
        row_count = EXCLUDED.row_count,
        first_ts = EXCLUDED.first_ts,
        last_ts = EXCLUDED.last_ts,
        updated_at = EXCLUDED.updated_at;

    RETURN v_id;
END
$$
"""


def _postgres() -> bool:
    return op.get_context().dialect.name == "postgresql"


def _original_upsert() -> str:
    """The function as revision 0003 defines it (the downgrade puts it back)."""
    path = Path(__file__).with_name("0003_postgres_views_functions.py")
    spec = importlib.util.spec_from_file_location("stage1_migration_0003", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.UPSERT_STAGE1_DATASET).replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def upgrade() -> None:
    op.add_column("stage1_datasets", sa.Column("version", sa.BigInteger(), nullable=False, server_default="0"))
    op.create_table(
        "stage1_dataset_versions",
        sa.Column("dataset_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ohlcv_rows", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("indicator_rows", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("ohlcv_first_ts", sa.BigInteger()),
        sa.Column("ohlcv_last_ts", sa.BigInteger()),
        sa.Column("indicator_first_ts", sa.BigInteger()),
        sa.Column("indicator_last_ts", sa.BigInteger()),
        sa.Column("ohlcv_checksum", sa.String(64)),
        sa.Column("indicator_checksum", sa.String(64)),
        sa.Column("changed_from_ts", sa.BigInteger()),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["stage1_datasets.dataset_id"],
            name="fk_stage1_dataset_versions_dataset_id_stage1_datasets",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dataset_id", "version", name="pk_stage1_dataset_versions"),
    )
    op.execute(FIRST_VERSIONS)
    op.execute("UPDATE stage1_datasets SET version = 1 WHERE ohlcv_rows > 0 OR indicator_rows > 0")
    for table in ("walkforward_runs", "simulation_runs"):
        op.execute(
            f"UPDATE {table} SET dataset_version = (SELECT d.version FROM stage1_datasets d "
            f"WHERE d.dataset_id = {table}.dataset_id) WHERE dataset_version IS NULL"
        )
    if _postgres():
        op.execute(UPSERT_WITH_VERSIONS)


def downgrade() -> None:
    if _postgres():
        op.execute(_original_upsert())
    op.drop_table("stage1_dataset_versions")
    op.drop_column("stage1_datasets", "version")
