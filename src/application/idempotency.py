"""Idempotency-Key: the same key returns the first result and writes nothing twice."""

from __future__ import annotations

from typing import Any

import msgspec

from application.ports import StoredResponse, UnitOfWork
from domain.errors import Conflict


class IdempotencyKey(msgspec.Struct, frozen=True):
    """The client's key for one write, the write's scope, and a hash of the request it came with."""

    key: str
    scope: str
    request_hash: str


async def earlier_answer(uow: UnitOfWork, key: IdempotencyKey | None) -> StoredResponse | None:
    """The stored first answer for this key, if the request was seen before."""
    if key is None:
        return None
    stored = await uow.idempotency.get(key.key, key.scope)
    if stored is not None and stored.request_hash != key.request_hash:
        raise Conflict(
            "Idempotency-Key was already used for a different request",
            {"header": "Idempotency-Key"},
        )
    return stored


async def remember_answer(
    uow: UnitOfWork, key: IdempotencyKey | None, status_code: int, body: dict[str, Any], ports_now: Any
) -> None:
    """Store the answer in the same transaction as the write it describes."""
    if key is None:
        return
    await uow.idempotency.add(StoredResponse(key.key, key.scope, key.request_hash, status_code, body, ports_now))
