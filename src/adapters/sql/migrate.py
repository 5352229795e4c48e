"""Schema migrations, driven from code: the service, the CLI and the tests call these functions.

They are synchronous (Alembic is); called from a running event loop they do their work on a helper thread,
blocking the caller until done. Nothing here touches a database at import time.
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, make_url

from adapters.sql.engine import async_url, create_engine

# Our own version table, so a database shared with another Alembic-managed app keeps both histories.
VERSION_TABLE = "stage1_alembic_version"

MIGRATIONS_DIR = Path(os.environ.get("STAGE1_MIGRATIONS_DIR", Path(__file__).resolve().parents[3] / "migrations"))

_DIALECT_URLS = {
    "postgresql": "postgresql+asyncpg://",
    "postgres": "postgresql+asyncpg://",
    "sqlite": "sqlite://",
}


def config(url: str, *, output: io.StringIO | None = None) -> Config:
    """An Alembic configuration for `url`, built in code (no alembic.ini needed)."""
    cfg = Config(output_buffer=output) if output is not None else Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["url"] = url
    cfg.attributes["configure_logging"] = False
    return cfg


def run_coroutine(factory: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run a coroutine to completion from sync code, even when this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(config(url), revision)


def downgrade(url: str, steps: int | Literal["base"] = 1) -> None:
    """Go back `steps` revisions, or all the way to an empty schema with "base"."""
    if steps == "base":
        command.downgrade(config(url), "base")
    elif steps > 0:
        command.downgrade(config(url), f"-{steps}")


def stamp(url: str, revision: str = "head") -> None:
    """Record `revision` as applied without running it (adopting a schema created by the old scripts)."""
    command.stamp(config(url), revision)


def reset(url: str) -> None:
    """Drop every object the migrations created and create them again."""
    downgrade(url, "base")
    upgrade(url, "head")


def revisions() -> list[str]:
    """Every revision id, oldest first."""
    script = ScriptDirectory.from_config(config("sqlite://"))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def head() -> str:
    script = ScriptDirectory.from_config(config("sqlite://"))
    only = script.get_current_head()
    if only is None:
        raise RuntimeError("the migrations have no head")
    return only


def current(url: str) -> str | None:
    """The revision the database is at, or None for an empty (never migrated) one."""

    def read(connection: Connection) -> str | None:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()

    async def inspect() -> str | None:
        engine = create_engine(url, pool_size=1, max_overflow=0)
        try:
            async with engine.connect() as connection:
                value: str | None = await connection.run_sync(read)
                return value
        finally:
            await engine.dispose()

    result: str | None = run_coroutine(inspect)
    return result


def status(url: str) -> str:
    """One line for an operator: where the database is and what is still to apply."""
    at = current(url)
    order = revisions()
    pending = order if at is None else order[order.index(at) + 1 :] if at in order else []
    where = at or "base (empty)"
    if at is not None and at not in order:
        return f"current: {where} (unknown to this code); head: {order[-1]}"
    if not pending:
        return f"current: {where}; up to date"
    return f"current: {where}; head: {order[-1]}; pending: {', '.join(pending)}"


def create_database(server_url: str, name: str) -> str:
    """Create database `name` on the Postgres server of `server_url`; answers the new database's URL.

    For tests and first-time setup: the caller needs CREATEDB rights. `name` must be a plain identifier.
    """
    _check_identifier(name)
    run_coroutine(lambda: _autocommit(server_url, f'CREATE DATABASE "{name}"'))
    return make_url(async_url(server_url)).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, name: str) -> None:
    """Drop database `name` (closing its other sessions first)."""
    _check_identifier(name)
    run_coroutine(lambda: _autocommit(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _check_identifier(name: str) -> None:
    if not name.isidentifier() or not name.isascii() or len(name) > 63:
        raise ValueError(f"not a plain database name: {name!r}")


async def _autocommit(server_url: str, statement: str) -> None:
    engine = create_engine(server_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            live = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await live.exec_driver_sql(statement)
    finally:
        await engine.dispose()


def upgrade_sql(url_or_dialect: str, revision: str = "head") -> str:
    """The SQL an upgrade would run, without connecting (a dry run): pass a URL or "postgresql"/"sqlite"."""
    url = _DIALECT_URLS.get(url_or_dialect, url_or_dialect)
    url = str(async_url(make_url(url)).render_as_string(hide_password=False))
    output = io.StringIO()
    command.upgrade(config(url, output=output), revision, sql=True)
    return output.getvalue()
