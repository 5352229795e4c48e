"""Token use cases: issue against the shared secret, authenticate a presented token, list, revoke."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from uuid import UUID

from application.ports import Clock, IdGenerator, UnitOfWorkFactory
from domain.errors import NotFound, Unauthorized
from domain.paging import Page, PageRequest
from domain.tokens import (
    LAST_USED_RESOLUTION,
    ApiToken,
    expiry,
    new_token,
    secret_matches,
    token_hash,
    validate_token_name,
)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: ApiToken
    secret_token: str


async def issue_token(
    configured_secret: str,
    secret: str,
    name: str,
    ttl_days: int,
    *,
    uow: UnitOfWorkFactory,
    clock: Clock,
    ids: IdGenerator,
) -> IssuedToken:
    """Only a caller who knows the shared secret gets a token; it is shown once, its hash kept."""
    if not secret_matches(secret, configured_secret):
        raise Unauthorized("the secret is wrong")
    return await create_token(name, ttl_days, uow=uow, clock=clock, ids=ids)


async def create_token(
    name: str, ttl_days: int, *, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator
) -> IssuedToken:
    now = clock.now()
    plain = new_token()
    token = ApiToken(ids.new_id(), validate_token_name(name), token_hash(plain), now, expiry(now, ttl_days))
    async with uow() as tx:
        await tx.tokens.add(token)
        await tx.commit()
    return IssuedToken(token, plain)


async def authenticate(presented: str, *, uow: UnitOfWorkFactory, clock: Clock) -> ApiToken:
    if len(presented) > 512:
        raise Unauthorized("the token is not valid")
    now = clock.now()
    async with uow() as tx:
        token = await tx.tokens.get_by_hash(token_hash(presented))
        if token is None:
            raise Unauthorized("the token is not valid")
        if token.revoked_at is not None:
            raise Unauthorized("the token was revoked")
        if token.expires_at is not None and token.expires_at <= now:
            raise Unauthorized("the token has expired")
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            token.last_used_at = now
            await tx.tokens.save(token)
            await tx.commit()
    return token


async def list_tokens(page: PageRequest, *, uow: UnitOfWorkFactory) -> Page[ApiToken]:
    async with uow() as tx:
        return await tx.tokens.list(page)


async def revoke_token(ref: str, *, uow: UnitOfWorkFactory, clock: Clock) -> ApiToken:
    async with uow() as tx:
        token = None
        with contextlib.suppress(ValueError):
            token = await tx.tokens.get(UUID(ref))
        if token is None:
            raise NotFound(f"token {ref[:80]!r} not found", {"token_id": ref[:80]})
        if token.revoked_at is None:
            token.revoked_at = clock.now()
            await tx.tokens.save(token)
            await tx.commit()
    return token
