"""The OpenAPI document as the app describes itself (checked in as docs/openapi.json)."""

from __future__ import annotations

import json

from entrypoints.http.app import create_app
from entrypoints.settings import Settings


def openapi_json() -> str:
    app = create_app(Settings(timeseries="memory", database_url="sqlite+aiosqlite:///:memory:"))
    return json.dumps(app.openapi_schema.to_schema(), indent=2, sort_keys=True)
