"""The research dashboard: `GET /` answers the app shell, `/ui/*` its ES modules and styles (package data of
this package), `/vendor/*` the chart libraries from PyPI wheels: TradingView Lightweight Charts from the
`lightweight-charts` wheel (every time-series chart: 160 KB, so a page paints within its budget) and
Plotly.js from the `plotly` wheel (the compare page's category charts, loaded on first use: 4.8 MB that take
seconds to evaluate).

Both arrive through PyPI because their wheels ship the browser bundles as package data: the README's first
command (`pip install -e . && stage1 serve`) installs them and nothing needs a JavaScript build or a CDN.
Pages use hash routes (`/#/datasets/btc_4h`), so the server answers only `/` with the shell.
The files are public code, like the API docs; the data they show comes from `/api`, which needs a token.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.util import find_spec
from pathlib import Path

from litestar import get
from litestar.datastructures import CacheControlHeader
from litestar.response import File
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from entrypoints.http.dashboard_docs import docs_asset_routers

DASHBOARD_DIR = Path(__file__).parent / "static" / "dashboard"
PLOTLY_JS = Path(str(files("plotly") / "package_data" / "plotly.min.js"))


def _lightweight_charts_js() -> Path:
    # The wheel's Python package imports pandas and pywebview on import; only its bundled file is used, so it
    # is located without importing the package.
    spec = find_spec("lightweight_charts")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the lightweight-charts wheel is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "js" / "lightweight-charts.js"


LIGHTWEIGHT_CHARTS_JS = _lightweight_charts_js()
VENDOR_CACHE = {"Cache-Control": "public, max-age=86400"}
OPEN = {"exclude_from_auth": True}


@get("/", include_in_schema=False, opt=OPEN, sync_to_thread=False)
def shell() -> File:
    return File(
        DASHBOARD_DIR / "index.html",
        media_type="text/html",
        content_disposition_type="inline",
        headers={"Cache-Control": "no-cache"},
    )


@get("/vendor/plotly.min.js", include_in_schema=False, opt=OPEN, sync_to_thread=False)
def plotly_js() -> File:
    return File(PLOTLY_JS, media_type="text/javascript", content_disposition_type="inline", headers=VENDOR_CACHE)


@get("/vendor/lightweight-charts.js", include_in_schema=False, opt=OPEN, sync_to_thread=False)
def lightweight_charts_js() -> File:
    return File(
        LIGHTWEIGHT_CHARTS_JS, media_type="text/javascript", content_disposition_type="inline", headers=VENDOR_CACHE
    )


def browser_routers() -> list[ControllerRouterHandler]:
    """Everything a browser loads that is not `/api`: the dashboard and the API docs' assets."""
    ui = create_static_files_router(
        path="/ui",
        directories=[DASHBOARD_DIR],
        name="dashboard",
        opt=OPEN,
        # Browsers revalidate modules every time (ETags keep that cheap), so new code is seen at once.
        cache_control=CacheControlHeader(no_cache=True),
    )
    return [shell, plotly_js, lightweight_charts_js, ui, *docs_asset_routers()]
