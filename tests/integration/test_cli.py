"""`stage1` commands on a fresh embedded data folder: migrate both ways, seed, token, openapi."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from tests.integration.test_serve_process import free_port

from adapters.sql import migrate
from entrypoints.cli import main


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STAGE1_DATA_DIR", str(tmp_path / "data"))
    # Nothing answers there: the data-changing commands act on the data folder above, whatever else runs here.
    monkeypatch.setenv("STAGE1_PORT", str(free_port()))
    monkeypatch.delenv("STAGE1_URL", raising=False)
    for name in ("STAGE1_DATABASE_URL", "STAGE1_TIMESERIES"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def test_migrate_goes_up_down_to_base_and_up_again(runner: CliRunner) -> None:
    head = migrate.head()
    before_head = ScriptDirectory.from_config(migrate.config("sqlite://")).get_revision(head).down_revision
    up = runner.invoke(main, ["migrate", "up"])
    assert up.exit_code == 0, up.output
    assert up.output.startswith(f"current: {head}; up to date")
    down_one = runner.invoke(main, ["migrate", "down", "1"])
    assert down_one.exit_code == 0 and down_one.output.startswith(f"current: {before_head}")
    base = runner.invoke(main, ["migrate", "down", "base", "--yes"])
    assert base.exit_code == 0, base.output
    status = runner.invoke(main, ["migrate", "status"])
    assert status.output.startswith("current: base (empty)") and "pending: 0001_core, 0002_jobs" in status.output
    again = runner.invoke(main, ["migrate", "up"])
    assert again.exit_code == 0 and again.output.startswith(f"current: {head}; up to date")


def test_migrate_up_sql_prints_the_ddl_without_touching_the_database(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["migrate", "up", "--sql"])
    assert result.exit_code == 0, result.output
    assert "CREATE TABLE stage1_datasets" in result.output
    assert not (tmp_path / "data" / "stage1.db").exists()


def test_migrate_down_refuses_a_step_count_that_is_not_a_number(runner: CliRunner) -> None:
    result = runner.invoke(main, ["migrate", "down", "lots"])
    assert result.exit_code != 0 and "whole number" in result.output


def test_seed_loads_two_datasets_two_runs_with_five_folds_and_two_simulations_and_can_run_twice(
    runner: CliRunner,
) -> None:
    first = runner.invoke(main, ["seed"])
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert "using the data folder" in first.stderr
    assert summary["datasets"] == ["btc_4h", "eth_1h"]
    assert len(summary["runs"]) == 2 and len(summary["simulations"]) == 2
    second = runner.invoke(main, ["seed"])
    assert second.exit_code == 0, second.output
    assert json.loads(second.stdout) == summary


def test_token_create_prints_a_token_once_then_its_id_and_expiry(runner: CliRunner) -> None:
    assert runner.invoke(main, ["migrate", "up"]).exit_code == 0
    result = runner.invoke(main, ["token", "create", "ci-bot"])
    assert result.exit_code == 0, result.output
    token, token_id, name, expires = result.stdout.splitlines()
    assert token.startswith("s1_") and len(token) > 40
    assert token_id.startswith("token_id: ") and name == "name: ci-bot" and expires.startswith("expires_at: 20")


def test_openapi_writes_the_document(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "openapi.json"
    result = runner.invoke(main, ["openapi", "-o", str(target)])
    assert result.exit_code == 0, result.output
    document = json.loads(target.read_text())
    assert document["openapi"].startswith("3.1") and "/api/datasets" in document["paths"]
