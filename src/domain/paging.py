"""Offset and keyset paging, the same for every list the contract has."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Generic, TypeVar

from domain.errors import InvalidInput

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 1000

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in a list ordered newest first: the (created_at, id) of the last item seen."""

    created_at: datetime
    key: str

    def encode(self) -> str:
        raw = json.dumps([self.created_at.isoformat(), self.key], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            padded = token + "=" * (-len(token) % 4)
            created_at, key = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
            if not isinstance(key, str) or not isinstance(created_at, str):
                raise TypeError(key)
            return cls(datetime.fromisoformat(created_at), key)
        except (ValueError, TypeError, binascii.Error, UnicodeError) as exc:
            raise InvalidInput("after is not a cursor this service issued", {"field": "after"}) from exc


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    after: Cursor | None = None

    @classmethod
    def of(
        cls,
        limit: int | None = None,
        offset: int | None = None,
        after: str | None = None,
        default_limit: int = DEFAULT_LIMIT,
    ) -> PageRequest:
        chosen = default_limit if limit is None else limit
        if not 1 <= chosen <= MAX_LIMIT:
            raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", {"field": "limit"})
        start = 0 if offset is None else offset
        if start < 0:
            raise InvalidInput("offset must not be negative", {"field": "offset"})
        cursor = Cursor.decode(after) if after else None
        if cursor is not None and start:
            raise InvalidInput("use either offset or after, not both", {"field": "after"})
        return cls(chosen, start, cursor)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
    next_cursor: str | None
