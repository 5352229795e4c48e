"""The dashboard in a real headless Chromium against `stage1 seed` data on the embedded default (SQLite +
DuckDB) with auth on: sign in, every page loads with no console error, no failed request and no request
leaving the service; charts hold the expected points and markers (read from the Plotly graph divs);
search, sort, compare, zoom, upload, live job progress, retry and sign-out behave."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page
from tests.integration.dashboard_browser import (
    BIN,
    Recorder,
    chromium,
    minute_bars_csv,
    open_page,
    screenshot,
    served,
    service_env,
    show,
    zoom,
)

SECRET = "a-long-shared-secret-for-the-dashboard-test"
BTC_RUN = "11111111-1111-4111-8111-111111111111"
ETH_RUN = "22222222-2222-4222-8222-222222222222"
BTC_SIM = "33333333-3333-4333-8333-333333333333"
FINE_BARS = 20_000


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("dashboard")
    env = service_env(STAGE1_AUTH_SECRET=SECRET)
    seeded = subprocess.run([str(BIN / "stage1"), "seed"], cwd=folder, env=env, capture_output=True, timeout=180)
    assert seeded.returncode == 0, seeded.stderr.decode()
    with served(folder, env) as url:
        token = httpx.post(f"{url}/api/auth/token", json={"secret": SECRET, "name": "test"}).json()["token"]
        headers = {"X-Stage1-Token": token}
        # A 1-minute dataset finer than one screen, so zooming has finer bars to fetch.
        created = httpx.post(
            f"{url}/api/datasets",
            json={
                "dataset_slug": "fine_1m",
                "symbol": "FINE",
                "granularity": "1m",
                "record_questdb": True,
                "ohlcv_csv": minute_bars_csv(FINE_BARS),
            },
            headers=headers,
            timeout=120,
        )
        assert created.status_code == 201, created.text
        yield url, headers


@pytest.fixture(scope="module")
def session(service: tuple[str, dict[str, str]]) -> Iterator[tuple[Page, Recorder]]:
    url, _ = service
    with chromium() as browser, open_page(browser, url) as (page, recorder):
        yield page, recorder


def test_sign_in_with_the_shared_secret_opens_the_data(session: tuple[Page, Recorder]) -> None:
    page, recorder = session
    page.goto(f"{recorder.origin}/#/datasets", wait_until="commit")
    page.wait_for_selector('#view[data-page="signin"][data-ready="true"]')
    screenshot(page, "signin")
    # Before signing in, the only failures are the 401s that told the page to ask for a token.
    assert recorder.failed and all("HTTP 401" in failure for failure in recorder.failed), recorder.failed
    recorder.reset()
    page.fill("#signin-secret", SECRET)
    page.click("#signin-secret-form button[type=submit]")
    page.wait_for_selector('#view[data-page="datasets"][data-ready="true"]')
    page.wait_for_selector("#signout")
    assert page.locator("#datasets-table tbody tr").count() == 3
    recorder.assert_clean()


def test_the_signed_in_session_refuses_a_write_without_the_csrf_header(session: tuple[Page, Recorder]) -> None:
    page, recorder = session
    show(page, "#/datasets", "datasets")
    statuses = page.evaluate(
        """async () => {
            const csrf = decodeURIComponent(document.cookie.split('; ').find(c => c.startsWith('stage1_csrf=')).slice(12));
            const write = headers => fetch('/api/datasets', {method: 'POST', credentials: 'same-origin',
                headers: {'Content-Type': 'application/json', ...headers}, body: JSON.stringify({dataset_slug: 'Not a slug!'})})
                .then(async r => [r.status, (await r.json()).error]);
            return [await write({}), await write({'X-CSRF-Token': csrf})];
        }"""
    )
    # The cookie authenticates; a cookie-authenticated write without the CSRF header is refused before it is
    # read, and with the header the same body (a bad slug) reaches validation.
    (without, without_error), (with_header, _) = statuses
    assert without == 403 and "csrf" in without_error.lower(), statuses
    assert with_header == 400, statuses
    recorder.reset()  # the refused write is this test's point, not a page failure


def test_datasets_page_lists_every_dataset_and_search_narrows_it(session: tuple[Page, Recorder]) -> None:
    page, recorder = session
    show(page, "#/datasets", "datasets")
    rows = page.locator("#datasets-table tbody tr")
    assert rows.count() == 3
    btc = page.locator("#datasets-table tbody tr", has_text="btc_4h")
    assert btc.locator("td").nth(3).inner_text() == "600"
    screenshot(page, "datasets")
    page.fill("#dataset-search", "eth")
    page.wait_for_function("document.querySelectorAll('#datasets-table tbody tr').length === 1")
    assert "eth_1h" in rows.first.inner_text()
    recorder.assert_clean()


def traces(page: Page, chart: str) -> dict[str, int]:
    counts: dict[str, int] = page.evaluate(
        """id => Object.fromEntries(document.getElementById(id).data.map(t => [t.meta, (t.x || []).length]))""",
        chart,
    )
    return counts


def test_dataset_page_draws_bars_indicators_predictions_and_trade_markers(session: tuple[Page, Recorder]) -> None:
    page, recorder = session
    show(page, f"#/datasets/btc_4h?indicators=sma_20&run={BTC_RUN}&simulation={BTC_SIM}", "dataset")
    page.wait_for_function("document.getElementById('price-chart').data?.length === 6")
    # 600 bars, one indicator, three folds of 120 predictions, 30 trades in and out.
    assert traces(page, "price-chart") == {
        "ohlc": 600,
        "volume": 600,
        "indicator:sma_20": 600,
        "predictions": 360,
        "entries": 30,
        "exits": 30,
    }
    screenshot(page, "dataset")
    page.check("#indicator-choices input[value=momentum_10]")
    page.wait_for_function("document.getElementById('price-chart').data.length === 7")
    assert traces(page, "price-chart")["indicator:momentum_10"] == 600
    recorder.assert_clean()


def test_zooming_fetches_finer_bars_and_never_holds_more_than_a_screenful(session: tuple[Page, Recorder]) -> None:
    page, recorder = session
    show(page, "#/datasets/fine_1m", "dataset")
    chart = page.locator("#price-chart")
    chart.wait_for()
    page.wait_for_function("document.getElementById('price-chart').dataset.renders === '1'")
    assert chart.get_attribute("data-sample-by") == "15m"
    whole = traces(page, "price-chart")["ohlc"]
    assert 1000 < whole <= 1500
    # Zoom to six hours: the page asks for raw minutes of that span (plus a margin) instead.
    zoom(page, "2024-01-05T00:00:00Z", "2024-01-05T06:00:00Z")
    page.wait_for_function("document.getElementById('price-chart').dataset.renders === '2'")
    assert chart.get_attribute("data-sample-by") == "raw"
    zoomed = page.evaluate("document.getElementById('price-chart').data[0].x")
    assert 360 <= len(zoomed) <= 500
    assert zoomed[1] - zoomed[0] == 60_000
    assert int(chart.get_attribute("data-points") or 0) <= 10_000
    screenshot(page, "dataset_zoomed")
    # The user's own wheel, zooming out over the chart past the bars held, fetches the wider span.
    box = chart.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(6):
        page.mouse.wheel(0, 400)
    page.wait_for_function("document.getElementById('price-chart').dataset.renders === '3'")
    assert traces(page, "price-chart")["ohlc"] > len(zoomed)
    assert int(chart.get_attribute("data-points") or 0) <= 10_000
    recorder.assert_clean()


def test_runs_sort_by_a_metric_column_filter_and_compare(session: tuple[Page, Recorder]) -> None:
    page, recorder = session
    show(page, "#/runs", "runs")
    table = page.locator("#runs-table")
    assert table.locator("tbody tr").count() == 2
    first_row = "document.querySelector('#runs-table tbody tr')?.dataset.runId"
    table.locator("th[data-key=fold_count]").click()  # descending first, ordered by the server
    page.wait_for_function(f"{first_row} === '{BTC_RUN}'")
    page.locator("th[data-key=fold_count]").click()
    page.wait_for_function(f"{first_row} === '{ETH_RUN}'")
    assert page.locator("#runs-table th[data-key='metrics.auc']").count() == 1
    screenshot(page, "runs")
    page.fill("#run-filter", "dataset.slug = 'btc_4h' AND metrics.auc > 0.5")
    page.press("#run-filter", "Enter")
    page.wait_for_function("document.querySelectorAll('#runs-table tbody tr').length === 1")
    assert page.locator("#runs-table tbody tr").first.get_attribute("data-run-id") == BTC_RUN
    page.fill("#run-filter", "")
    page.press("#run-filter", "Enter")
    page.wait_for_function("document.querySelectorAll('#runs-table tbody tr').length === 2")
    page.check(f"input[data-run='{BTC_RUN}']")
    page.check(f"input[data-run='{ETH_RUN}']")
    page.click("#compare-runs")
    page.wait_for_selector('#view[data-page="compare"][data-ready="true"]')
    differing = page.eval_on_selector_all("#compare-params tr.differ", "rows => rows.map(r => r.dataset.param)")
    # The seeded runs share their hyperparameters; their datasets, fold counts and test windows differ.
    assert sorted(differing) == ["dataset.slug", "fold_count", "walk.test_bars"]
    assert page.locator("#compare-params tr[data-param='params.max_depth']:not(.differ)").count() == 1
    assert page.locator("#compare-metrics tr[data-metric=auc] td").all_inner_texts() == ["auc", "0.56", "0.56"]
    # One chart per fold metric, one bar series per run, one bar per fold of that run.
    per_fold = page.evaluate(
        """() => [...document.querySelectorAll('.fold-chart')].map(d => [d.dataset.metric,
               d.data.map(t => t.y.filter(v => v !== null).length)])"""
    )
    assert per_fold == [["accuracy", [3, 2]], ["auc", [3, 2]]]
    screenshot(page, "compare")
    recorder.assert_clean()


def test_simulation_page_shows_equity_buckets_paged_trades_and_markers(session: tuple[Page, Recorder]) -> None:
    page, recorder = session
    show(page, f"#/simulations/{BTC_SIM}", "simulation")
    assert traces(page, "equity-chart") == {"equity": 31, "drawdown": 31}
    page.wait_for_function("document.getElementById('price-chart').data?.length === 4")
    price = traces(page, "price-chart")
    assert price["entries"] == 30 and price["exits"] == 30 and price["ohlc"] > 0
    assert page.locator("#buckets-table tbody tr").count() == 3
    assert page.locator("#trades-table tbody tr").count() == 25
    assert page.inner_text("#trades-range") == "1-25 of 30"
    screenshot(page, "simulation")
    page.click("#trades-next")
    page.wait_for_function("document.getElementById('trades-range').textContent === '26-30 of 30'")
    assert page.locator("#trades-table tbody tr").count() == 5
    recorder.assert_clean()


def watch_progress(page: Page, selector: str) -> None:
    """Record every progress value the page shows under `selector`, as it changes, without reloading."""
    page.evaluate(
        """selector => {
             window.progressSeen = [];
             const note = () => document.querySelectorAll(selector + ' [role=progressbar]').forEach(bar => {
               const value = Number(bar.dataset.progress);
               if (window.progressSeen[window.progressSeen.length - 1] !== value) window.progressSeen.push(value);
             });
             new MutationObserver(note).observe(document.getElementById('view'), {subtree: true, childList: true});
           }""",
        selector,
    )


def test_an_edited_earlier_bar_makes_a_new_version_and_the_runs_on_it_stale(
    session: tuple[Page, Recorder], service: tuple[str, dict[str, str]]
) -> None:
    page, recorder = session
    url, headers = service
    bars = httpx.get(f"{url}/api/datasets/btc_4h/ohlcv", params={"format": "csv"}, headers=headers).text.splitlines()
    fields = bars[10].split(",")
    fields[4] = str(float(fields[4]) + 1.0)  # the close of the tenth bar, long before the run's last bar
    bars[10] = ",".join(fields)
    uploaded = httpx.post(
        f"{url}/api/datasets/btc_4h/export",
        files={"ohlcv": ("btc.csv", "\n".join(bars) + "\n", "text/csv")},
        headers=headers,
        timeout=60,
    )
    assert uploaded.status_code < 300, uploaded.text
    show(page, "#/datasets", "datasets")
    btc = page.locator("#datasets-table tbody tr", has_text="btc_4h")
    headings = page.locator("#datasets-table thead th").all_inner_texts()
    cells = dict(zip(headings, btc.locator("td").all_inner_texts(), strict=True))
    assert cells["Version"] == "2" and cells["Stale results"] == "2", cells  # its run and its simulation
    show(page, "#/datasets/btc_4h", "dataset")
    assert page.eval_on_selector_all("#versions-table tbody tr", "rows => rows.map(r => r.dataset.version)") == [
        "2",
        "1",
    ]
    show(page, "#/runs", "runs")
    stale = page.locator(f"#runs-table tr[data-run-id='{BTC_RUN}'] .stale")
    assert stale.count() == 1 and "version 1" in (stale.get_attribute("title") or "")
    assert page.locator(f"#runs-table tr[data-run-id='{ETH_RUN}'] .stale").count() == 0
    screenshot(page, "runs_stale")
    recorder.assert_clean()


def test_import_previews_a_dropped_file_with_its_gaps_then_uploads_it_and_its_progress_moves_live(
    session: tuple[Page, Recorder], tmp_path: Path
) -> None:
    page, recorder = session
    lines = minute_bars_csv(250_000).splitlines(keepends=True)
    holes = {1_001, 5_001, 5_002, 200_001, 200_002, 200_003}  # three holes of 1, 2 and 3 bars (line 0 is the header)
    csv = tmp_path / "minute_bars.csv"
    csv.write_text("".join(line for number, line in enumerate(lines) if number not in holes))
    rows = 250_000 - len(holes)
    show(page, "#/import", "import")
    assert page.locator("[data-gap]").count() == 0  # the preview is there: no marked gap left on this page
    page.set_input_files("#import-file", str(csv))
    assert page.input_value("#import-measurement") == "minute_bars"
    page.select_option("#import-kind", "ohlcv")
    page.fill("#import-granularity", "1m")
    page.click("#import-preview")
    page.wait_for_selector("#import-preview-result")
    assert page.get_attribute("#import-preview-result", "data-rows") == str(rows)
    assert page.get_attribute("#import-preview-gaps", "data-gap-count") == "3"
    assert page.get_attribute("#import-preview-gaps", "data-missing-bars") == "6"
    assert page.locator("#import-preview-gap-table tbody tr").all_inner_texts()[0].split("\t")[-1] == "3"
    assert page.locator("#import-preview-columns tbody tr").count() == 6
    screenshot(page, "import-preview")

    watch_progress(page, "#import-job")
    page.click("#import-upload")
    page.wait_for_selector("#import-job[data-status=COMPLETED]")
    seen: list[int] = page.evaluate("window.progressSeen")
    assert seen[-1] == rows
    # The bar moved live, without a reload: rows counted while the file is checked, then written toward the
    # total; the check reports every 100,000 rows, so a value strictly between is shown.
    assert seen[0] == 0 and any(0 < value < rows for value in seen), seen
    assert page.url.endswith("#/import")
    screenshot(page, "import")
    recorder.assert_clean()


def test_jobs_page_follows_a_job_live_and_retries_a_failed_one(
    session: tuple[Page, Recorder], service: tuple[str, dict[str, str]]
) -> None:
    page, recorder = session
    url, headers = service
    show(page, "#/jobs", "jobs")
    assert page.locator("#jobs-table tbody tr").count() >= 1
    watch_progress(page, "#jobs-table")
    big = httpx.post(
        f"{url}/api/questdb/import/async",
        params={"measurement": "live_bars", "kind": "ohlcv"},
        files={"file": ("bars.csv", minute_bars_csv(250_000).encode(), "text/csv")},
        headers=headers,
        timeout=120,
    ).json()
    row = f"#jobs-table tr[data-job-id='{big['job_id']}']"
    page.wait_for_selector(f"{row}[data-status=COMPLETED]")
    seen: list[int] = page.evaluate("window.progressSeen")
    assert 250_000 in seen and seen.index(250_000) > seen.index(0), seen  # it moved live (see the import test)
    screenshot(page, "jobs")

    bad = httpx.post(
        f"{url}/api/questdb/import/async",
        params={"measurement": "bad_bars", "kind": "ohlcv"},
        files={"file": ("bad.csv", b"timestamp,open\n1704067200,1\n", "text/csv")},
        headers=headers,
    ).json()
    failed = f"#jobs-table tr[data-job-id='{bad['job_id']}']"
    page.wait_for_selector(f"{failed}[data-status=FAILED]")
    assert page.inner_text(f"{failed} td.attempts") == "1/3"
    page.evaluate(
        """selector => {
             window.statusSeen = [];
             new MutationObserver(() => {
               const row = document.querySelector(selector);
               if (row && window.statusSeen[window.statusSeen.length - 1] !== row.dataset.status)
                 window.statusSeen.push(row.dataset.status);
             }).observe(document.getElementById('view'), {subtree: true, childList: true});
           }""",
        failed,
    )
    page.click(f"{failed} button.retry")
    # Back in the queue at once (the answer of the retry), then the stream shows the worker's next try.
    page.wait_for_function("window.statusSeen[0] === 'PENDING' && window.statusSeen.length >= 2")
    recorder.assert_clean()


def test_sign_out_forgets_the_token(session: tuple[Page, Recorder]) -> None:
    page, recorder = session
    page.click("#signout")
    page.wait_for_selector('#view[data-page="signin"][data-ready="true"]')
    assert page.evaluate("sessionStorage.getItem('stage1.token')") is None
    page.evaluate("location.hash = '#/datasets'")
    page.wait_for_selector('#view[data-page="signin"][data-ready="true"]')
    assert any("HTTP 401" in failure for failure in recorder.failed)
    assert recorder.foreign == [] and recorder.console_errors_except_401() == []
