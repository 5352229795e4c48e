"""The dashboard served by `stage1 serve` on Postgres + QuestDB (the production stores), on the seed's
fixtures under names of this test's own: the datasets table, the price chart with its overlays, zooming and
the simulation page read the same from QuestDB as from the embedded store."""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
from playwright.sync_api import Page
from tests.integration.dashboard_browser import (
    Recorder,
    chromium,
    open_page,
    screenshot,
    served,
    service_env,
    show,
    zoom,
)

from adapters.sql import migrate
from entrypoints import seed
from entrypoints.settings import Settings


def need(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the suite through scripts/test.sh, which starts the real stores")
    return value


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The seed's fixtures, renamed so they cannot meet another test's tables in the shared QuestDB."""
    server = need("STAGE1_TEST_POSTGRES_URL")
    questdb_http = need("STAGE1_TEST_QUESTDB_HTTP")
    tag = secrets.token_hex(3)
    database = f"stage1_dash_{tag}"
    url = migrate.create_database(server, database)
    migrate.upgrade(url)
    folder = tmp_path_factory.mktemp("dashboard_pg")
    env = service_env(
        STAGE1_DATABASE_URL=url,
        STAGE1_TIMESERIES="questdb",
        STAGE1_QUESTDB_HTTP_URL=questdb_http,
        STAGE1_QUESTDB_PG_URL=need("STAGE1_TEST_QUESTDB_PG"),
        STAGE1_AUTH_ENABLED="false",
        STAGE1_DATA_DIR=str(folder / "data"),
    )
    renamed = [
        {**fixture, "slug": f"dash{tag}_{fixture['slug']}", "run_id": uuid.uuid4(), "simulation_id": uuid.uuid4()}
        for fixture in seed.FIXTURES
    ]
    settings = Settings(**{k.removeprefix("STAGE1_").lower(): v for k, v in env.items() if k.startswith("STAGE1_")})
    original = seed.FIXTURES
    seed.FIXTURES = renamed
    try:
        summary = anyio.run(seed.seed_fixtures, settings)
        with served(folder, env) as base:
            yield base, renamed
    finally:
        seed.FIXTURES = original
        measurements = httpx.get(f"{questdb_http}/exec", params={"query": "tables()"}).json()
        for row in measurements.get("dataset", []):
            name = next((cell for cell in row if isinstance(cell, str) and cell.startswith(f"dash{tag}_")), None)
            if name:
                httpx.get(f"{questdb_http}/exec", params={"query": f'DROP TABLE IF EXISTS "{name}"'})
        migrate.drop_database(server, database)
    assert summary["datasets"] == [fixture["slug"] for fixture in renamed]


@pytest.fixture(scope="module")
def session(fixtures: tuple[str, list[dict[str, Any]]]) -> Iterator[tuple[Page, Recorder]]:
    base, _ = fixtures
    with chromium() as browser, open_page(browser, base) as (page, recorder):
        page.goto(f"{base}/", wait_until="commit")
        yield page, recorder


def test_on_questdb_the_datasets_table_and_the_price_chart_hold_the_seeded_rows(
    session: tuple[Page, Recorder], fixtures: tuple[str, list[dict[str, Any]]]
) -> None:
    page, recorder = session
    _, renamed = fixtures
    btc = renamed[0]
    show(page, "#/datasets", "datasets")
    page.fill("#dataset-search", btc["slug"])
    page.wait_for_function("document.querySelectorAll('#datasets-table tbody tr').length === 1")
    assert page.locator("#datasets-table tbody tr td").nth(3).inner_text() == "600"
    show(
        page,
        f"#/datasets/{btc['slug']}?indicators=sma_20&run={btc['run_id']}&simulation={btc['simulation_id']}",
        "dataset",
    )
    page.wait_for_function("document.getElementById('price-chart').data?.length === 6")
    counts = page.evaluate(
        "() => Object.fromEntries(document.getElementById('price-chart').data.map(t => [t.meta, t.x.length]))"
    )
    assert counts == {
        "ohlc": 600,
        "volume": 600,
        "indicator:sma_20": 600,
        "predictions": 360,
        "entries": 30,
        "exits": 30,
    }
    # A zoom to two days of 4h bars shows those twelve bars; the raw bars are all held, so nothing is fetched.
    renders = page.evaluate("document.getElementById('price-chart').dataset.renders")
    zoom(page, "2024-02-01T00:00:00Z", "2024-02-03T00:00:00Z")
    page.wait_for_function(
        """() => { const r = document.getElementById('price-chart').priceChart.chart.timeScale().getVisibleRange();
                   return r && r.from === Date.parse('2024-02-01T00:00:00Z') / 1000; }"""
    )
    shown = page.evaluate(
        """() => { const t = document.getElementById('price-chart').priceChart.chart.timeScale();
                   const r = t.getVisibleLogicalRange(); return Math.round(r.to - r.from); }"""
    )
    assert shown == 12
    assert page.evaluate("document.getElementById('price-chart').dataset.renders") == renders
    screenshot(page, "questdb_dataset")
    recorder.assert_clean()


def test_on_questdb_the_simulation_page_draws_equity_and_trades(
    session: tuple[Page, Recorder], fixtures: tuple[str, list[dict[str, Any]]]
) -> None:
    page, recorder = session
    _, renamed = fixtures
    show(page, f"#/simulations/{renamed[0]['simulation_id']}", "simulation")
    equity = page.evaluate("document.getElementById('equity-chart').data.map(t => t.x.length)")
    assert equity == [31, 31]
    page.wait_for_function("document.getElementById('price-chart').data?.length === 4")
    assert page.inner_text("#trades-range") == "1-25 of 30"
    screenshot(page, "questdb_simulation")
    recorder.assert_clean()
