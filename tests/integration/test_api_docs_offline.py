"""The API docs render in a real browser with no network beyond the service: Scalar at `/schema` and Swagger
UI at `/schema/swagger` load their scripts and styles from the service itself."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser
from tests.integration.dashboard_browser import chromium, recorded_page, screenshot, served, service_env


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """With auth on: the docs and their assets are open, like `/api/health`."""
    env = service_env(STAGE1_AUTH_SECRET="a-long-shared-secret-for-the-docs-test")
    with served(tmp_path_factory.mktemp("docs"), env) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def test_scalar_docs_render_the_operations_from_local_assets_only(service: str, browser: Browser) -> None:
    with recorded_page(browser, service) as (page, recorder):
        page.goto(f"{service}/schema", wait_until="networkidle")
        page.get_by_text("List datasets").first.wait_for(timeout=40_000)
        assert page.get_by_text("Create or update a dataset by slug").count() >= 1
        screenshot(page, "docs_scalar")
        recorder.assert_clean()
        assert any("/static/docs/scalar/js/scalar.standalone.js" in url for url in recorder.requests)


def test_swagger_docs_render_the_operations_from_local_assets_only(service: str, browser: Browser) -> None:
    with recorded_page(browser, service) as (page, recorder):
        page.goto(f"{service}/schema/swagger", wait_until="networkidle")
        page.locator(".opblock").first.wait_for(timeout=40_000)
        assert page.locator(".opblock").count() > 30
        assert page.locator(".opblock-summary-description", has_text="List datasets").count() >= 1
        screenshot(page, "docs_swagger")
        recorder.assert_clean()
        assert any("/static/docs/swagger/js/swagger-ui-bundle.js" in url for url in recorder.requests)


def test_the_docs_assets_are_open_without_a_token_while_the_api_is_not(service: str) -> None:
    assert httpx.get(f"{service}/api/datasets").status_code == 401
    for path in ("/schema", "/static/docs/scalar/js/scalar.standalone.js", "/static/docs/stage1/scalar.css"):
        assert httpx.get(f"{service}{path}").status_code == 200, path
    assert httpx.get(f"{service}/static/docs/scalar/js/missing.js").status_code == 404
