"""Idempotency-Key: the same key returns the first result and writes nothing twice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from application.ports import StoredResponse, UnitOfWork
from domain.errors import Conflict, InvalidInput

MAX_KEY_LENGTH = 200


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    key: str
    scope: str
    request_hash: str

    def __post_init__(self) -> None:
        if not self.key or len(self.key) > MAX_KEY_LENGTH or not self.key.isprintable():
            raise InvalidInput(
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters",
                {"header": "Idempotency-Key"},
            )


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
