"""The metadata store over SQLAlchemy 2 async: Postgres (asyncpg) and SQLite (aiosqlite)."""

from adapters.sql.engine import create_engine
from adapters.sql.uow import SqlUnitOfWork, SqlUnitOfWorkFactory, unit_of_work_factory

__all__ = ["SqlUnitOfWork", "SqlUnitOfWorkFactory", "create_engine", "unit_of_work_factory"]
