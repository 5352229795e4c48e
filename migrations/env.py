"""Alembic environment: async engines (asyncpg, aiosqlite) driven through `connection.run_sync`.

The URL is taken, in order, from `config.attributes["url"]` (set by `adapters.sql.migrate`), `-x url=`,
the `sqlalchemy.url` option, or the STAGE1_DATABASE_URL environment variable.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from adapters.sql.engine import async_url, create_engine
from adapters.sql.migrate import VERSION_TABLE, run_coroutine
from adapters.sql.tables import metadata

config = context.config

if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    url = (
        config.attributes.get("url")
        or context.get_x_argument(as_dictionary=True).get("url")
        or config.get_main_option("sqlalchemy.url")
        or os.environ.get("STAGE1_DATABASE_URL")
    )
    if not url:
        raise RuntimeError("no database URL: set STAGE1_DATABASE_URL or pass -x url=...")
    return str(url)


def _options(dialect_name: str) -> dict[str, object]:
    return {
        "target_metadata": metadata,
        "version_table": VERSION_TABLE,
        # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
        "render_as_batch": dialect_name == "sqlite",
        "compare_type": True,
    }


def run_offline() -> None:
    url = async_url(_url())
    context.configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **_options(url.get_backend_name()),  # type: ignore[arg-type]
    )
    with context.begin_transaction():
        context.run_migrations()


def _migrate(connection: Connection, sqlite_begins: bool = False) -> None:
    context.configure(
        connection=connection,
        transaction_per_migration=True,
        # Alembic takes SQLite DDL as non-transactional; on our engine a real BEGIN makes it transactional.
        transactional_ddl=True if sqlite_begins else None,
        **_options(connection.dialect.name),  # type: ignore[arg-type]
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    # A real BEGIN on SQLite, so each migration's DDL commits or rolls back as a whole.
    engine = create_engine(_url(), sqlite_begin="deferred", pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_migrate, connection.dialect.name == "sqlite")
            await connection.commit()
    finally:
        await engine.dispose()


def run_online() -> None:
    given = config.attributes.get("connection")
    if isinstance(given, Connection):
        _migrate(given)
        return
    run_coroutine(_run_online)


if context.is_offline_mode():
    run_offline()
else:
    run_online()
