"""Views and functions desktops still call directly (Postgres only; SQLite deployments skip them).

Revision ID: 0003_pg_objects
Revises: 0002_jobs
Create Date: 2025-11-10
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003_pg_objects"
down_revision: str | Sequence[str] | None = "0002_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DATASET_CATALOG = """
CREATE VIEW dataset_catalog AS
SELECT d.dataset_id, d.dataset_slug, d.symbol, d.granularity, d.source,
       d.ohlcv_measurement, d.indicator_measurement, d.ohlcv_rows, d.indicator_rows,
       d.ohlcv_first_ts, d.ohlcv_last_ts, d.indicator_first_ts, d.indicator_last_ts,
       d.metadata, d.created_at, d.updated_at,
       (SELECT count(*) FROM walkforward_runs r WHERE r.dataset_id = d.dataset_id) AS related_runs,
       (SELECT count(*) FROM simulation_runs s WHERE s.dataset_id = d.dataset_id) AS related_simulations,
       (SELECT max(r.created_at) FROM walkforward_runs r WHERE r.dataset_id = d.dataset_id) AS last_run_at
FROM stage1_datasets d
"""

DATASET_HIERARCHY = """
CREATE VIEW dataset_hierarchy AS
SELECT d.dataset_id, d.dataset_slug, d.symbol, d.granularity,
       d.ohlcv_measurement, d.indicator_measurement,
       r.run_id, r.prediction_measurement, r.status AS run_status, r.target_column, r.fold_count,
       r.summary_metrics AS run_summary_metrics, r.created_at AS run_created_at,
       s.simulation_id, s.trades_measurement, s.status AS simulation_status, s.trade_count,
       s.summary_metrics AS simulation_summary_metrics, s.created_at AS simulation_created_at
FROM stage1_datasets d
LEFT JOIN walkforward_runs r ON r.dataset_id = d.dataset_id
LEFT JOIN simulation_runs s ON s.run_id = r.run_id
"""

FN_LIST_DATASETS = """
CREATE FUNCTION fn_list_datasets() RETURNS SETOF dataset_catalog
LANGUAGE sql STABLE AS $$
    SELECT * FROM dataset_catalog ORDER BY created_at DESC, dataset_id DESC
$$
"""

FN_LIST_RUNS = """
CREATE FUNCTION fn_list_runs(p_dataset_id uuid DEFAULT NULL) RETURNS SETOF walkforward_runs
LANGUAGE sql STABLE AS $$
    SELECT * FROM walkforward_runs
    WHERE p_dataset_id IS NULL OR dataset_id = p_dataset_id
    ORDER BY created_at DESC, run_id DESC
$$
"""

FN_LIST_SIMULATIONS = """
CREATE FUNCTION fn_list_simulations(p_run_id uuid DEFAULT NULL) RETURNS SETOF simulation_runs
LANGUAGE sql STABLE AS $$
    SELECT * FROM simulation_runs
    WHERE p_run_id IS NULL OR run_id = p_run_id
    ORDER BY created_at DESC, simulation_id DESC
$$
"""

# Upsert by slug, as the service does: a NULL argument leaves the stored value alone (defaults apply on
# insert), and the legacy `indicator_datasets` mirror follows in the same transaction.
UPSERT_STAGE1_DATASET = """
CREATE FUNCTION upsert_stage1_dataset(
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
BEGIN
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

DROPS = (
    "DROP FUNCTION IF EXISTS upsert_stage1_dataset("
    "text, text, text, text, text, text, bigint, bigint, bigint, bigint, bigint, bigint, jsonb)",
    "DROP FUNCTION IF EXISTS fn_list_simulations(uuid)",
    "DROP FUNCTION IF EXISTS fn_list_runs(uuid)",
    "DROP FUNCTION IF EXISTS fn_list_datasets()",
    "DROP VIEW IF EXISTS dataset_hierarchy",
    "DROP VIEW IF EXISTS dataset_catalog",
)


def _postgres() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    if not _postgres():
        return
    for statement in (
        DATASET_CATALOG,
        DATASET_HIERARCHY,
        FN_LIST_DATASETS,
        FN_LIST_RUNS,
        FN_LIST_SIMULATIONS,
        UPSERT_STAGE1_DATASET,
    ):
        op.execute(statement)


def downgrade() -> None:
    if not _postgres():
        return
    for statement in DROPS:
        op.execute(statement)
