"""API tokens and the answers remembered for Idempotency-Keys."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select

from adapters.sql import tables as t
from adapters.sql.mapping import entity
from adapters.sql.repositories import SqlRepository
from application.ports import IdempotencyRecord
from domain.paging import Page, PageRequest
from domain.tokens import ApiToken


class SqlIdempotencyRecords(SqlRepository):
    async def get(self, key: str, scope: str) -> IdempotencyRecord | None:
        c = t.idempotency.c
        return await self._first(IdempotencyRecord, select(t.idempotency).where(c.key == key, c.scope == scope))

    async def add(self, record: IdempotencyRecord) -> None:
        await self._insert(t.idempotency, record)


class SqlTokenRepository(SqlRepository):
    async def add(self, token: ApiToken) -> None:
        await self._insert(t.api_tokens, token)

    async def save(self, token: ApiToken) -> None:
        await self._update(t.api_tokens, "token_id", token, "token")

    async def get(self, token_id: UUID) -> ApiToken | None:
        return await self._first(ApiToken, select(t.api_tokens).where(t.api_tokens.c.token_id == token_id))

    async def get_by_hash(self, token_hash: str) -> ApiToken | None:
        return await self._first(ApiToken, select(t.api_tokens).where(t.api_tokens.c.token_hash == token_hash))

    async def list(self, page: PageRequest) -> Page[ApiToken]:
        return await self._newest_first(
            t.api_tokens, "token_id", [], page, lambda row: entity(ApiToken, row._mapping)
        )
