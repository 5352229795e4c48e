"""A search request as the application passes it to a store, and the keyset cursor of its sorted result."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from domain.errors import InvalidInput
from domain.paging import DEFAULT_LIMIT
from domain.search import semantics
from domain.search.fields import FieldRef
from domain.search.ordering import OrderKey
from domain.search.semantics import RANK_NULL
from domain.search.tree import Expr

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SortPosition:
    """Where one item sits in a sorted result: (rank, value) per sort key, then created_at and id."""

    keys: tuple[tuple[int, Any], ...]
    created_at: datetime
    ident: UUID


@dataclass(frozen=True, slots=True)
class SearchQuery:
    filter: Expr | None = None
    order: tuple[OrderKey, ...] = ()
    fields: tuple[FieldRef, ...] | None = None
    count: bool = True
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    after: SortPosition | None = None

    def fingerprint(self) -> str:
        """Ties a cursor to the sort it was issued for; another order_by cannot reuse it."""
        text = ",".join(key.text() for key in self.order)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class Found(Generic[T]):
    items: list[T]
    total: int | None
    limit: int
    offset: int
    next_cursor: str | None


def encode_cursor(position: SortPosition, query: SearchQuery) -> str:
    keys = [[rank, _tagged(value)] for rank, value in position.keys]
    raw = [query.fingerprint(), keys, position.created_at.isoformat(), str(position.ident)]
    data = json.dumps(raw, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def decode_cursor(token: str, query: SearchQuery) -> SortPosition:
    try:
        padded = token + "=" * (-len(token) % 4)
        fingerprint, keys, created_at, ident = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if fingerprint != query.fingerprint() or len(keys) != len(query.order):
            raise ValueError("another sort")
        decoded = tuple(_checked(_rank(rank), _untagged(value)) for rank, value in keys)
        return SortPosition(decoded, datetime.fromisoformat(created_at), UUID(ident))
    except (ValueError, TypeError, binascii.Error, UnicodeError, AttributeError) as exc:
        raise InvalidInput("after is not a cursor this service issued for this order", {"field": "after"}) from exc


def _rank(rank: Any) -> int:
    if not isinstance(rank, int) or rank not in (0, 1, 2, RANK_NULL):
        raise ValueError("rank")
    return rank


def _checked(rank: int, value: Any) -> tuple[int, Any]:
    """A forged cursor must not reach a store with a value of another type than its rank says."""
    if semantics.rank(value) != rank:
        raise ValueError("rank and value disagree")
    return rank, value


def _tagged(value: Any) -> list[Any]:
    if value is None:
        return ["z", None]
    if isinstance(value, datetime):
        return ["t", value.isoformat()]
    if isinstance(value, UUID):
        return ["u", str(value)]
    return ["v", value]


def _untagged(pair: Any) -> Any:
    tag, value = pair
    if tag == "z":
        return None
    if tag == "t":
        return datetime.fromisoformat(value)
    if tag == "u":
        return UUID(value)
    if tag == "v" and isinstance(value, int | float | str | bool):
        return value
    raise ValueError("tag")
