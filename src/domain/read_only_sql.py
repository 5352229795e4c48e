"""Which SQL the read-only routes accept. The database enforces it too; this refuses early (Forbidden)."""

from __future__ import annotations

import re
from typing import Final

from domain.errors import Forbidden, InvalidInput

READ_VERBS: Final = frozenset({"select", "with", "show", "explain"})
MAX_SQL_LENGTH: Final = 100_000
_COMMENTS: Final = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_STRINGS: Final = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")


def ensure_read_only(sql: str) -> str:
    """One SELECT / WITH / SHOW / EXPLAIN statement, or Forbidden naming why not."""
    if not sql.strip():
        raise InvalidInput("sql must not be empty", {"field": "sql"})
    if len(sql) > MAX_SQL_LENGTH:
        raise InvalidInput(f"sql is longer than {MAX_SQL_LENGTH} characters", {"field": "sql"})
    bare = _STRINGS.sub("''", _COMMENTS.sub(" ", sql)).strip()
    statements = [part for part in bare.split(";") if part.strip()]
    if len(statements) != 1:
        raise Forbidden("only one statement is allowed", {"statements": len(statements)})
    verb = statements[0].split(None, 1)[0].lower()
    if verb not in READ_VERBS:
        raise Forbidden(f"{verb.upper()} is not a read-only statement", {"allowed": sorted(READ_VERBS)})
    return sql.strip().rstrip(";").strip()
