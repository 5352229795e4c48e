"""The part of the read-only SQL rule that needs no parser: one non-empty statement text of bounded length.

Which statements are reads is decided on a real parse in the time-series adapters (sqlglot, then the engine's
own parser and its read-only transaction or user), never on text rules here: text rules refused
`SELECT $$a;b$$` and `(SELECT 1)` and could be fooled by quoting."""

from __future__ import annotations

from typing import Final

from domain.errors import InvalidInput

MAX_SQL_LENGTH: Final = 100_000


def ensure_read_only(sql: str) -> str:
    """The statement text as the store gets it, or a 400 when there is none or too much of it."""
    text = sql.strip().rstrip(";").strip()
    if not text:
        raise InvalidInput("sql must not be empty", {"field": "sql"})
    if len(sql) > MAX_SQL_LENGTH:
        raise InvalidInput(f"sql is longer than {MAX_SQL_LENGTH} characters", {"field": "sql"})
    return text
