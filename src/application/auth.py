"""Token use cases: issue against the shared secret, authenticate a presented token, list, revoke."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from uuid import UUID

from application.ports import Clock, IdGenerator, UnitOfWorkFactory
from domain.errors import InvalidInput, NotFound, Unauthorized
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


@dataclass(frozen=True, slots=True)
class TokenMint:
    """What issuing a token takes, bound as one role (`mint`): the store that keeps its hash, the time, new ids."""

    uow: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator

    async def issue(self, name: str, ttl_days: int) -> IssuedToken:
        now = self.clock.now()
        plain = new_token()
        token = ApiToken(self.ids.new_id(), validate_token_name(name), token_hash(plain), now, expiry(now, ttl_days))
        async with self.uow() as tx:
            await tx.tokens.add(token)
            await tx.commit()
        return IssuedToken(token, plain)


async def issue_token(configured_secret: str, secret: str, name: str, ttl_days: int, *, mint: TokenMint) -> IssuedToken:
    """Only a caller who knows the shared secret gets a token; it is shown once, its hash kept."""
    if not secret_matches(secret, configured_secret):
        raise Unauthorized("the secret is wrong")
    return await mint.issue(name, ttl_days)


async def create_token(name: str, ttl_days: int, *, mint: TokenMint) -> IssuedToken:
    return await mint.issue(name, ttl_days)


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


async def open_session(
    configured_secret: str, token: str | None, secret: str | None, name: str, ttl_days: int, *, mint: TokenMint
) -> IssuedToken:
    """A browser session is a token of its own, issued against a valid token or the shared secret, so that
    ending it (or revoking it from the token list) never touches the token it came from."""
    if token is not None:
        owner = await authenticate(token, uow=mint.uow, clock=mint.clock)
        return await mint.issue(_session_name(owner.name), ttl_days)
    if secret is not None:
        return await issue_token(configured_secret, secret, _session_name(name), ttl_days, mint=mint)
    raise InvalidInput("send a token, or a secret and a name", {"fields": ["token", "secret"]})


async def end_session(session_token: str | None, *, uow: UnitOfWorkFactory, clock: Clock) -> None:
    """The session stops authenticating everywhere at once; ending an unknown or ended one changes nothing."""
    if not session_token or len(session_token) > 512:
        return
    async with uow() as tx:
        token = await tx.tokens.get_by_hash(token_hash(session_token))
        if token is not None and token.revoked_at is None:
            token.revoked_at = clock.now()
            await tx.tokens.save(token)
            await tx.commit()


def _session_name(name: str) -> str:
    return ("session of " + name.strip())[:128]


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
