"""The API docs at `/schema` (Scalar) and `/schema/swagger` (Swagger UI) with every script and style served by
the service itself, so the docs work offline and a page never calls a third-party host.

The bundles come from PyPI wheels that ship them as package data — `star-openapi-scalar` (Scalar's
standalone build) and `star-openapi-swagger` (swagger-ui-dist) — so `pip install -e .` brings them and their
versions are pinned in pyproject instead of `@latest` on a CDN. Only their files are used, not their code.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from litestar import Router
from litestar.openapi.plugins import OpenAPIRenderPlugin, ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

ASSETS_PATH = "/static/docs"
OUR_STATIC = Path(__file__).parent / "static"
SCALAR_DIR = Path(str(files("star_openapi_scalar") / "templates" / "scalar"))
SWAGGER_DIR = Path(str(files("star_openapi_swagger") / "templates" / "swagger"))

# Litestar's defaults point the favicon and Scalar's theme at a CDN; ours are local.
FAVICON = f"<link rel='icon' type='image/svg+xml' href='{ASSETS_PATH}/stage1/favicon.svg'>"
# Scalar loads its web fonts from its own host unless told not to, and offers hosted extras (AI agent,
# telemetry, its developer toolbar) that would call out; all off.
SCALAR_OPTIONS = {
    "withDefaultFonts": False,
    "hideClientButton": True,
    "showDeveloperTools": "never",
    "telemetry": False,
    "agent": {"disabled": True},
}


def docs_render_plugins() -> list[OpenAPIRenderPlugin]:
    return [
        ScalarRenderPlugin(
            js_url=f"{ASSETS_PATH}/scalar/js/scalar.standalone.js",
            css_url=f"{ASSETS_PATH}/stage1/scalar.css",
            options=SCALAR_OPTIONS,
            favicon=FAVICON,
        ),
        SwaggerRenderPlugin(
            path="/swagger",
            js_url=f"{ASSETS_PATH}/swagger/js/swagger-ui-bundle.js",
            css_url=f"{ASSETS_PATH}/swagger/css/swagger-ui.css",
            standalone_preset_js_url=f"{ASSETS_PATH}/swagger/js/swagger-ui-standalone-preset.js",
            favicon=FAVICON,
        ),
    ]


def docs_asset_routers() -> list[Router]:
    """Open like the docs themselves: the files are public code, not data."""
    opt = {"exclude_from_auth": True}
    return [
        create_static_files_router(path=f"{ASSETS_PATH}/{name}", directories=[directory], name=f"docs-{name}", opt=opt)
        for name, directory in (
            ("scalar", SCALAR_DIR),
            ("swagger", SWAGGER_DIR),
            ("stage1", OUR_STATIC / "docs"),
        )
    ]
