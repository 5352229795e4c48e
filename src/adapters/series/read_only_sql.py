"""What client SQL may do on the read-only routes, decided on a real parse (sqlglot) rather than on text rules,
and the bounds every such statement runs within.

The parse answers early with a 403 for a statement that is not a read or that reads what the routes never
show: the engine's settings and catalog internals, files, or other databases. It is not the only guard —
DuckDB runs the statement in a READ ONLY transaction without external access and QuestDB as a read-only
user — so text sqlglot cannot parse is left to the engine, which parses it itself.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

import anyio
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from domain.errors import Forbidden, InvalidInput, StoreTimeout

Dialect = Literal["duckdb", "postgres"]

# Functions that read settings, the environment, files or run SQL text of their own.
_DENIED_PREFIXES: Final = (
    "duckdb_", "pragma_", "current_setting", "getenv", "read_", "glob", "sniff_", "parquet_", "query",
    "which_secret", "load_", "install_", "iceberg_", "delta_", "sqlite_", "postgres_", "mysql_", "http",
    "set_config", "pg_read", "pg_ls", "pg_stat_file", "lo_", "dblink", "copy_", "checkpoint", "force_checkpoint",
    "enable_", "disable_", "memory_", "sys",
)
# Table names that are really catalog views of the engine (DuckDB lets `FROM duckdb_settings` drop the parentheses).
_DENIED_TABLE_PREFIXES: Final = ("duckdb_", "pragma_", "sqlite_", "pg_settings", "pg_file", "sys.")
_READ_KINDS: Final = (exp.Query, exp.Pivot, exp.Show, exp.Describe, exp.Summarize)


def check_statement(sql: str, dialect: Dialect) -> bool:
    """A 403 unless `sql` is one read statement touching only data; answers whether sqlglot could parse it."""
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except (ParseError, TokenError, RecursionError, ValueError):
        return False
    if len(statements) != 1:
        raise Forbidden("only one statement is allowed", {"statements": len(statements)})
    _check_one(statements[0], dialect)
    return True


def _check_one(statement: exp.Expr, dialect: Dialect) -> None:
    if isinstance(statement, exp.Command) and str(statement.this).upper() == "EXPLAIN":
        inner = str(statement.expression.this if isinstance(statement.expression, exp.Literal) else "")
        inner = re.sub(r"^\s*ANALY[SZ]E\b", "", inner, flags=re.I)
        if check_statement(inner, dialect):
            return
        raise Forbidden("EXPLAIN of a statement the read-only check cannot verify", {"allowed": _ALLOWED})
    if not isinstance(statement, _READ_KINDS):
        kind = statement.key.upper() if not isinstance(statement, exp.Command) else str(statement.this).upper()
        raise Forbidden(f"{kind} is not a read-only statement", {"allowed": _ALLOWED})
    for function in statement.find_all(exp.Func):
        name = (function.name if isinstance(function, exp.Anonymous) else function.sql_name()).lower()
        if name.startswith(_DENIED_PREFIXES) or isinstance(function, exp.ReadCSV):
            raise Forbidden(f"{name}() is not available on the read-only SQL routes", {"function": name})
    for table in statement.find_all(exp.Table):
        name = ".".join(part for part in (table.catalog, table.db, table.name) if part).lower()
        if table.catalog or name.startswith(_DENIED_TABLE_PREFIXES) or table.db.lower() in ("sys", "pg_catalog"):
            raise Forbidden(f"{name} is not readable on the read-only SQL routes", {"table": name})


_ALLOWED: Final = ["SELECT", "WITH", "SHOW", "DESCRIBE", "EXPLAIN"]

# An absolute path (two segments at least) or a home-relative one, as engines print them in errors.
_PATH: Final = re.compile(r"(?<![\w)\]])(?:~|/)[\w.\-]*(?:/[\w.\-]+)+/?")


def scrub(message: str) -> str:
    """An engine message without the server's folders, so a relayed error never maps the machine."""
    home = str(Path.home())
    if len(home) > 1:
        message = message.replace(home, "~")
    return _PATH.sub("<path>", message)


def unique_names(names: list[str]) -> list[str]:
    """Result columns as the formats need them: distinct (`SELECT 1 AS a, 2 AS a`, a join of two tables that
    both have `timestamp`), later ones numbered: `a`, `a_1`, `a_2`."""
    seen: set[str] = set()
    out = []
    for name in names:
        candidate, n = name, 0
        while candidate in seen:
            n += 1
            candidate = f"{name}_{n}"
        seen.add(candidate)
        out.append(candidate)
    return out


@dataclass(slots=True)
class SqlGate:
    """Bounds on client SQL: how long a statement may run, and how many run at once.

    A statement asking for more than `max_timeout` gets `max_timeout`. Statements wait for a slot (within
    their own timeout) and run their blocking calls on threads of their own limiter, so a burst of heavy
    SQL never takes the threads the data routes answer on."""

    concurrency: int = 2
    max_timeout: float = 300.0
    threads: anyio.CapacityLimiter = field(init=False)
    _slots: anyio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        self.concurrency = max(self.concurrency, 1)
        self.threads = anyio.CapacityLimiter(self.concurrency)
        self._slots = anyio.Semaphore(self.concurrency)

    def check_timeout(self, timeout: float) -> float:
        """The timeout a statement runs with: what it asked for, never more than the server allows."""
        if not timeout > 0:
            raise InvalidInput("timeout must be above 0", {"field": "timeout"})
        return min(timeout, self.max_timeout)

    @asynccontextmanager
    async def slot(self, timeout: float) -> AsyncIterator[None]:
        with anyio.move_on_after(timeout) as waiting:
            await self._slots.acquire()
        if waiting.cancelled_caught:
            raise StoreTimeout(
                f"no SQL slot came free within the timeout of {timeout:g} s ({self.concurrency} run at once)",
                {"timeout": timeout, "concurrency": self.concurrency},
            )
        try:
            yield
        finally:
            self._slots.release()
