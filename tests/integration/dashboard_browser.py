"""A real `stage1 serve` process and a real headless Chromium (Debian's, driven by Playwright) that records
every request, console error and failed request, and refuses — and reports — any request that leaves the
service."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Route, sync_playwright

BIN = Path(sys.executable).parent
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


def chromium_path() -> str:
    """The system Chromium: Playwright's own browser download cannot run here (scripts/test.sh installs it)."""
    path = os.environ.get("STAGE1_TEST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("no Chromium: install Debian's `chromium` (scripts/test.sh does) or set STAGE1_TEST_CHROMIUM")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAGE1_")}
    env.update(extra)
    return env


@contextmanager
def served(folder: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """`stage1 serve` in `folder`, as the README's first command runs it; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "stage1"), "serve", "--port", str(port)],
        cwd=folder,
        env=env or service_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # a busy shared machine starts slowly
        while True:
            if process.poll() is not None:
                stderr = process.stderr.read().decode() if process.stderr else ""
                raise AssertionError(f"serve exited with {process.returncode}: {stderr}")
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("serve did not become healthy")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@dataclass
class Recorder:
    """What a page did on the network and in its console."""

    origin: str
    requests: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def route(self, route: Route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob") or f"{parts.scheme}://{parts.netloc}" == self.origin:
            route.continue_()
        else:
            self.foreign.append(url)
            route.abort()

    def on_request(self, request: Request) -> None:
        self.requests.append(request.url)

    def on_failed(self, request: Request) -> None:
        # An event stream the page closes itself (leaving a page, a job finished) is not a failed request.
        if request.failure == "net::ERR_ABORTED" and urlsplit(request.url).path == "/api/events":
            return
        self.failed.append(f"{request.method} {request.url}: {request.failure}")

    def on_response(self, response: object) -> None:
        status = getattr(response, "status", 0)
        if status >= 400:
            self.failed.append(f"{getattr(response, 'url', '?')}: HTTP {status}")

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def on_page_error(self, error: Exception) -> None:
        self.console_errors.append(f"uncaught: {error}")

    def reset(self) -> None:
        for seen in (self.requests, self.foreign, self.failed, self.console_errors):
            seen.clear()

    def console_errors_except_401(self) -> list[str]:
        return [error for error in self.console_errors if "status of 401" not in error]

    def assert_clean(self) -> None:
        assert self.foreign == [], f"requests left the service: {self.foreign}"
        assert self.failed == [], f"failed requests: {self.failed}"
        assert self.console_errors == [], f"console errors: {self.console_errors}"


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def recorded_page(browser: Browser, origin: str) -> Iterator[tuple[Page, Recorder]]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, service_workers="block")
    recorder = Recorder(origin)
    context.route("**/*", recorder.route)
    page = context.new_page()
    # Generous: the machine running the suite may be busy; a real hang still fails.
    page.set_default_timeout(120_000)
    page.on("request", recorder.on_request)
    page.on("requestfailed", recorder.on_failed)
    page.on("response", recorder.on_response)
    page.on("console", recorder.on_console)
    page.on("pageerror", recorder.on_page_error)
    try:
        yield page, recorder
    finally:
        context.close()


open_page = recorded_page


def show(page: Page, route: str, name: str) -> None:
    """Go to a hash route of the dashboard and wait until that page has rendered."""
    page.evaluate("route => { window.location.hash = route; }", route)
    page.wait_for_selector(f'#view[data-page="{name}"][data-ready="true"]', timeout=120_000)


def minute_bars_csv(count: int, start: int = 1_704_067_200) -> str:
    """`count` one-minute OHLCV bars from 2024-01-01T00:00Z, as CSV text."""
    rows = (f"{start + i * 60},{100 + i % 7},{101 + i % 7},{99 + i % 7},{100.5 + i % 5},{i % 50}" for i in range(count))
    return "timestamp,open,high,low,close,volume\n" + "\n".join(rows) + "\n"


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def zoom(page: Page, start: str, end: str) -> None:
    """Zoom the price chart to [start, end] (ISO, UTC) as a wheel-zoom ends up doing."""
    page.evaluate(
        """([from, to]) => document.getElementById('price-chart').priceChart
               .zoomTo(Date.parse(from) / 1000, Date.parse(to) / 1000)""",
        [start, end],
    )
