"""Schemathesis fuzzes every operation of the live app against its own OpenAPI document: on the embedded default
(SQLite + DuckDB) and on production stores (Postgres + QuestDB). Any 5xx, undocumented status, undocumented
content type or body off its schema fails the operation's test."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
import schemathesis
from litestar import Litestar
from tests.integration.fuzz_support import FUZZ_CONFIG, SENT, call_and_validate, register_serializers, summary

from adapters.sql import migrate
from entrypoints.http.app import create_app
from entrypoints.http.openapi_document import openapi_json
from entrypoints.settings import Settings

register_serializers()


@pytest.fixture(scope="module", autouse=True)
def report_what_was_sent(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    capture = request.config.pluginmanager.getplugin("capturemanager")
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    if capture is not None and reporter is not None and SENT:
        with capture.global_and_fixture_disabled():
            reporter.write_line("")
            for line in summary():
                reporter.write_line(line)


def need(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the suite through scripts/test.sh, which starts the real stores")
    return value


def live_app(settings: Settings) -> Litestar:
    """The app under test; it must describe itself with the document the cases were generated from."""
    # The fuzzer sends far more than a client may; the limit itself has its own tests.
    app = create_app(settings.model_copy(update={
        "rate_limit_per_minute": 10**9, "auth_rate_limit_per_minute": 10**9, "auth_lockout_after": 10**9,
    }))
    assert app.openapi_schema.to_schema() == DOCUMENT
    return app


@pytest.fixture(scope="module")
def embedded_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data = tmp_path_factory.mktemp("embedded")
    return Settings(data_dir=data, auth_enabled=False, in_process_worker=True, _env_file=None)


class AppPerOperation:
    """One app per operation over the module's stores: schemathesis ends an app's lifespan after each operation,
    and a container's resources (pools, clients) are not built to start again once shut down."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.apps: dict[str, Litestar] = {}

    def __call__(self, case: schemathesis.Case) -> Litestar:
        label = case.operation.label
        if label not in self.apps:
            self.apps[label] = live_app(self.settings)
        return self.apps[label]


@pytest.fixture(scope="module")
def embedded_app(embedded_settings: Settings) -> AppPerOperation:
    return AppPerOperation(embedded_settings)


class QuestDBTables:
    """Every measurement the fuzzer names gets this run's prefix, so it never touches another run's tables and
    the run can drop exactly what it made."""

    def __init__(self, http_url: str) -> None:
        self.http_url = http_url
        self.prefix = f"fz{uuid.uuid4().hex[:8]}_"

    def drop_all(self) -> None:
        with httpx.Client(base_url=self.http_url, timeout=30) as client:
            listed = client.get("/exec", params={"query": "tables()"}).json()
            names = [row[listed_index(listed)] for row in listed.get("dataset", [])]
            for name in names:
                if isinstance(name, str) and name.startswith(self.prefix):
                    client.get("/exec", params={"query": f'DROP TABLE IF EXISTS "{name}"'})


def listed_index(answer: dict[str, Any]) -> int:
    names = [column["name"] for column in answer.get("columns", [])]
    return names.index("table_name") if "table_name" in names else names.index("name")


@pytest.fixture(scope="module")
def production_tables() -> Iterator[QuestDBTables]:
    tables = QuestDBTables(need("STAGE1_TEST_QUESTDB_HTTP"))
    try:
        yield tables
    finally:
        tables.drop_all()


@pytest.fixture(scope="module")
def production_settings(
    tmp_path_factory: pytest.TempPathFactory, production_tables: QuestDBTables
) -> Iterator[Settings]:
    server = need("STAGE1_TEST_POSTGRES_URL")
    name = f"stage1_fuzz_{uuid.uuid4().hex[:10]}"
    url = migrate.create_database(server, name)
    try:
        migrate.upgrade(url)
        yield Settings(
            data_dir=Path(tmp_path_factory.mktemp("production")),
            database_url=url,
            timeseries="questdb",
            questdb_http_url=production_tables.http_url,
            questdb_pg_url=need("STAGE1_TEST_QUESTDB_PG"),
            auth_enabled=False,
            in_process_worker=True,
            _env_file=None,
        )
    finally:
        migrate.drop_database(server, name)


@pytest.fixture(scope="module")
def production_app(production_settings: Settings) -> AppPerOperation:
    return AppPerOperation(production_settings)


# Cases come from the checked-in-equivalent document (loaded at collection, one test per operation); the live
# apps are asserted to serve the same document. (schemathesis.pytest.from_fixture would load it from the app, but
# its lazy loader does not run on pytest 9.)
DOCUMENT: Final = json.loads(openapi_json())
embedded = schemathesis.openapi.from_dict(DOCUMENT, config=FUZZ_CONFIG)
production = schemathesis.openapi.from_dict(DOCUMENT, config=FUZZ_CONFIG)


@embedded.parametrize()
def test_the_embedded_app_answers_every_fuzzed_request_as_documented(
    case: schemathesis.Case, embedded_app: AppPerOperation
) -> None:
    call_and_validate(case, embedded_app(case), "embedded (SQLite + DuckDB)")


@pytest.mark.postgres
@pytest.mark.questdb
@production.parametrize()
def test_the_production_app_answers_every_fuzzed_request_as_documented(
    case: schemathesis.Case, production_app: AppPerOperation, production_tables: QuestDBTables
) -> None:
    call_and_validate(
        case, production_app(case), "production (Postgres + QuestDB)", measurement_prefix=production_tables.prefix
    )
