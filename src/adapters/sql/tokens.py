"""API tokens and the answers remembered for Idempotency-Keys."""

from __future__ import annotations

from sqlalchemy import select

from adapters.sql import tables as t
from adapters.sql.repositories import SqlEntities, SqlRepository
from application.ports import IdempotencyRecord
from domain.paging import Page, PageRequest
from domain.tokens import ApiToken


class SqlIdempotencyRecords(SqlRepository):
    async def get(self, key: str, scope: str) -> IdempotencyRecord | None:
        c = t.idempotency.c
        return await self._first(IdempotencyRecord, select(t.idempotency).where(c.key == key, c.scope == scope))

    async def add(self, record: IdempotencyRecord) -> None:
        await self._insert(t.idempotency, record)


class SqlTokenRepository(SqlEntities[ApiToken]):
    kind, table, key, noun = ApiToken, t.api_tokens, "token_id", "token"

    async def get_by_hash(self, token_hash: str) -> ApiToken | None:
        return await self._first(ApiToken, select(t.api_tokens).where(t.api_tokens.c.token_hash == token_hash))

    async def list(self, page: PageRequest) -> Page[ApiToken]:
        return await self._newest_first(t.api_tokens, "token_id", [], page, self._item)
