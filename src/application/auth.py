"""Token use cases: issue against the shared secret, authenticate a request, list, revoke."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from uuid import UUID

from application.context import Ports
from application.ports import ApiToken
from domain.errors import Forbidden, NotFound, Unauthorized
from domain.paging import Page, PageRequest
from domain.tokens import LAST_USED_RESOLUTION, expiry, new_token, secret_matches, token_hash, validate_token_name


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: ApiToken
    secret_token: str


async def issue_token(
    ports: Ports, configured_secret: str | None, secret: str | None, name: str, ttl_days: int
) -> IssuedToken:
    """Only a caller who knows the shared secret gets a token; it is shown once, its hash kept."""
    if configured_secret is None:
        raise Forbidden("token issuance is disabled: no shared secret is configured (STAGE1_AUTH_SECRET)")
    if secret is None or not secret_matches(secret, configured_secret):
        raise Unauthorized("the secret is wrong")
    return await create_token(ports, name, ttl_days)


async def create_token(ports: Ports, name: str, ttl_days: int) -> IssuedToken:
    now = ports.clock.now()
    plain = new_token()
    token = ApiToken(ports.ids.new_id(), validate_token_name(name), token_hash(plain), now, expiry(now, ttl_days))
    async with ports.uow() as uow:
        await uow.tokens.add(token)
        await uow.commit()
    return IssuedToken(token, plain)


async def authenticate(ports: Ports, presented: str | None) -> ApiToken:
    if not presented:
        raise Unauthorized("a token is required: X-Stage1-Token or Authorization: Bearer")
    if len(presented) > 512:
        raise Unauthorized("the token is not valid")
    now = ports.clock.now()
    async with ports.uow() as uow:
        token = await uow.tokens.get_by_hash(token_hash(presented))
        if token is None:
            raise Unauthorized("the token is not valid")
        if token.revoked_at is not None:
            raise Unauthorized("the token was revoked")
        if token.expires_at is not None and token.expires_at <= now:
            raise Unauthorized("the token has expired")
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            token.last_used_at = now
            await uow.tokens.save(token)
            await uow.commit()
    return token


async def list_tokens(ports: Ports, page: PageRequest) -> Page[ApiToken]:
    async with ports.uow() as uow:
        return await uow.tokens.list(page)


async def revoke_token(ports: Ports, ref: str) -> ApiToken:
    async with ports.uow() as uow:
        token = None
        with contextlib.suppress(ValueError):
            token = await uow.tokens.get(UUID(ref))
        if token is None:
            raise NotFound(f"token {ref[:80]!r} not found", {"token_id": ref[:80]})
        if token.revoked_at is None:
            token.revoked_at = ports.clock.now()
            await uow.tokens.save(token)
            await uow.commit()
    return token
