"""Idempotent writes: the same key returns the first result and writes nothing twice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from application.ports import IdempotencyRecord, UnitOfWork
from domain.errors import Conflict


class KeyReused(Conflict):
    """The same idempotency key came back with a different request."""


class IdempotencyKey(msgspec.Struct, frozen=True):
    """The client's key for one write, the write's scope, and a hash of the request it came with."""

    key: str
    scope: str
    request_hash: str


async def earlier_answer(uow: UnitOfWork, key: IdempotencyKey | None) -> IdempotencyRecord | None:
    """The stored first answer for this key, if the request was seen before."""
    if key is None:
        return None
    stored = await uow.idempotency.get(key.key, key.scope)
    if stored is not None and stored.request_hash != key.request_hash:
        raise KeyReused("the idempotency key was already used for a different request")
    return stored


async def remember_answer(
    uow: UnitOfWork, key: IdempotencyKey | None, created: bool, body: dict[str, Any], now: datetime
) -> None:
    """Store the outcome (did the write create the record, and what it answered) in the write's transaction."""
    if key is None:
        return
    await uow.idempotency.add(IdempotencyRecord(key.key, key.scope, key.request_hash, created, body, now))
