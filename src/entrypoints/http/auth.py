"""Tokens on the wire: `/api/auth/*` routes and the middleware that guards every other `/api` route."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final

from litestar import Request, Response, Router, delete, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult, DefineMiddleware
from litestar.middleware.rate_limit import RateLimitConfig
from msgspec import Meta

from application.auth import IssuedToken
from domain.errors import Forbidden, Unauthorized
from domain.paging import Page, PageRequest
from domain.tokens import ApiToken, csrf_for, secret_matches
from entrypoints.http import parameters as p
from entrypoints.http.errors import error_responses
from entrypoints.http.lockout import check_credential_try, check_not_locked_out, client_address, guard_of
from entrypoints.http.openapi_extras import described
from entrypoints.http.schemas import Struct
from entrypoints.http.schemas.common import Paged, doc
from entrypoints.http.use_cases import UseCase
from entrypoints.settings import Settings

# Health, token issuance and the docs stay open; everything else under /api needs a token.
OPEN_PATHS = [
    r"^/api/health$", r"^/healthz$", r"^/api/auth/token$", r"^/api/auth/session$", r"^/schema", r"^/swagger",
    r"^/metrics$",
]
SESSION_COOKIE = "stage1_session"
CSRF_COOKIE = "stage1_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# An open route reads a small JSON object; anything bigger is refused before it is buffered.
OPEN_BODY_BYTES = 16 * 1024


Secret = Annotated[str, Meta(max_length=1024), doc("The shared secret (`STAGE1_AUTH_SECRET`).")]
TokenName = Annotated[str, Meta(max_length=128), doc("A label for the token, e.g. the machine it is for.")]


class TokenIn(Struct, forbid_unknown_fields=False):
    """A token to issue against the shared secret."""

    secret: Secret
    name: TokenName = "default"
    ttl_days: Annotated[int, Meta(ge=1, le=3650), doc("Days until it expires; default 90 (settable).")] | None = None


class SessionIn(Struct, forbid_unknown_fields=False):
    """A browser session opened with a token or the shared secret."""

    token: Annotated[str, Meta(max_length=512), doc("A token to open the session with.")] | None = None
    secret: Secret | None = None
    name: TokenName = "browser"


class TokenOut(Struct):
    """A token as listed: never the token itself."""

    token_id: Annotated[str, doc("The token's id (UUID); revoke it by this.")]
    name: Annotated[str, doc("The token's label.")]
    created_at: Annotated[datetime, doc("When it was issued (UTC).")]
    expires_at: Annotated[datetime | None, doc("When it stops working (UTC); null: never.")]
    last_used_at: Annotated[datetime | None, doc("When it last authenticated a request (UTC).")]
    revoked_at: Annotated[datetime | None, doc("When it was revoked (UTC); null while valid.")]


class IssuedTokenOut(TokenOut):
    token: Annotated[str, doc("The token itself, shown this once: send it as `X-Stage1-Token`.")]


class SessionOut(TokenOut):
    """The session's own token never appears here: it lives only in the HttpOnly cookie."""

    csrf_token: Annotated[str, doc("Send it back as `X-CSRF-Token` on writes.")]


class TokenPage(Paged):
    tokens: Annotated[list[TokenOut], doc("This page's tokens, newest first.")]


def token_out(token: ApiToken) -> TokenOut:
    return TokenOut(
        token_id=str(token.token_id),
        name=token.name,
        created_at=token.created_at,
        expires_at=token.expires_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
    )


def presented_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    token = connection.headers.get("x-stage1-token")
    if token:
        return token.strip()
    authorization = connection.headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def check_csrf(connection: ASGIConnection[Any, Any, Any, Any], session: str) -> None:
    """A write carried by the session cookie must echo the CSRF cookie in `X-CSRF-Token`: a page of another
    site can make the browser send the cookie, but cannot read it to write the header."""
    if connection.scope.get("method", "GET") in SAFE_METHODS:
        return
    header = connection.headers.get(CSRF_HEADER, "")
    cookie = connection.cookies.get(CSRF_COOKIE, "")
    expected = csrf_for(session)
    if not (header and secret_matches(header, cookie) and secret_matches(header, expected)):
        raise Forbidden(
            "a write authenticated by the session cookie needs X-CSRF-Token equal to the stage1_csrf cookie",
            {"header": "X-CSRF-Token"},
        )


class TokenAuthentication(AbstractAuthenticationMiddleware):
    """A token (header, or the browser's session cookie) is checked only while its address is not locked out;
    each bad one counts against the address."""

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        presented = presented_token(connection)
        session = None if presented else connection.cookies.get(SESSION_COOKIE) or None
        if not (presented or session):
            # Not a guess: a page or a desktop asking before it signed in must not lock its address out.
            raise Unauthorized("a token is required: X-Stage1-Token or Authorization: Bearer")
        address = await check_not_locked_out(connection)
        authenticate: UseCase[ApiToken] = connection.app.state.use_cases["authenticate"]
        try:
            token = await authenticate(presented or session)
        except Unauthorized:
            await guard_of(connection).failed(address)
            raise
        if session is not None:
            check_csrf(connection, session)
        return AuthenticationResult(user=token, auth=token)


def auth_middleware() -> DefineMiddleware:
    return DefineMiddleware(TokenAuthentication, exclude=OPEN_PATHS)


def rate_limit(settings: Settings) -> RateLimitConfig:
    """Per validated token, else per client address. It runs after authentication: a token the client made
    up must never buy a fresh bucket, so only a token the store recognised keys its own."""

    def identify(request: Request[Any, Any, Any]) -> str:
        user = request.scope.get("user")
        if isinstance(user, ApiToken):
            return f"token:{user.token_id}"
        return "addr:" + client_address(request)

    return RateLimitConfig(
        rate_limit=("minute", settings.rate_limit_per_minute),
        identifier_for_request=identify,
        exclude=[r"^/api/health$", r"^/healthz$", r"^/metrics$"],
    )


def session_cookie(name: str, value: str, max_age: int, secure: bool) -> Cookie:
    """Strict same-site cookies; the session's is HttpOnly, the CSRF one is for page scripts to read."""
    return Cookie(
        key=name, value=value, path="/", max_age=max_age, httponly=name == SESSION_COOKIE, samesite="strict",
        secure=secure,
    )


async def not_locked_out(connection: ASGIConnection[Any, Any, Any, Any], _: Any) -> None:
    """A guard, so a try over the minute's limit or from a locked-out address is refused before its body is
    even read."""
    await check_credential_try(connection)


# Where a secret or a token is presented: a small body, the lockout first, and its refusals.
PRESENTS_A_SECRET: Final[dict[str, Any]] = {
    "request_max_body_size": OPEN_BODY_BYTES,
    "guards": [not_locked_out],
    "responses": error_responses(401, 403),
}


@post(
    "/session",
    status_code=201,
    summary="Open a browser session (HttpOnly cookie) against a token or the shared secret",
    opt=described(example={"secret": "the shared secret", "name": "alice-browser"}),
    **PRESENTS_A_SECRET,
)
async def start_session(
    request: Request[Any, Any, Any], data: SessionIn, open_session: UseCase[IssuedToken], settings: Settings
) -> Response[SessionOut]:
    address, body = client_address(request), data
    if settings.auth_secret is None and body.token is None:
        raise Forbidden("sessions against the secret are disabled: no shared secret is configured")
    secret = settings.auth_secret.get_secret_value() if settings.auth_secret else ""
    try:
        issued = await open_session(secret, body.token, body.secret, body.name, settings.session_ttl_days)
    except Unauthorized:
        await guard_of(request).failed(address)
        raise
    csrf = csrf_for(issued.secret_token)
    out = token_out(issued.token)
    seconds = settings.session_ttl_days * 86_400
    secure = request.url.scheme == "https"
    return Response(
        SessionOut(**{f: getattr(out, f) for f in out.__struct_fields__}, csrf_token=csrf),
        status_code=201,
        cookies=[
            session_cookie(SESSION_COOKIE, issued.secret_token, seconds, secure),
            session_cookie(CSRF_COOKIE, csrf, seconds, secure),
        ],
    )


@delete(
    "/session",
    status_code=204,
    summary="End the browser session: its cookie stops authenticating everywhere",
    request_max_body_size=OPEN_BODY_BYTES,
    opt=described(ok={"204": {}}),  # cookies cleared, no body
)
async def stop_session(request: Request[Any, Any, Any], end_session: UseCase[None]) -> Response[None]:
    await end_session(request.cookies.get(SESSION_COOKIE))
    secure = request.url.scheme == "https"
    return Response(
        None,
        status_code=204,
        cookies=[
            session_cookie(name, "", 0, secure) for name in (SESSION_COOKIE, CSRF_COOKIE)
        ],
    )


async def issue_checked(
    request: Request[Any, Any, Any], body: TokenIn, issue_token: UseCase[IssuedToken], settings: Settings
) -> IssuedToken:
    """A token for a caller who knows the shared secret; a wrong secret counts against the address."""
    address = client_address(request)
    if settings.auth_secret is None:
        raise Forbidden("token issuance is disabled: no shared secret is configured (STAGE1_AUTH_SECRET)")
    secret = settings.auth_secret.get_secret_value()
    try:
        return await issue_token(secret, body.secret, body.name, body.ttl_days or settings.token_ttl_days)
    except Unauthorized:
        await guard_of(request).failed(address)
        raise


@post(
    "/token",
    status_code=201,
    summary="Issue a token against the shared secret (shown once)",
    opt=described(example={"secret": "the shared secret", "name": "alice-desktop", "ttl_days": 30}),
    **PRESENTS_A_SECRET,
)
async def issue(
    request: Request[Any, Any, Any], data: TokenIn, issue_token: UseCase[IssuedToken], settings: Settings
) -> IssuedTokenOut:
    issued = await issue_checked(request, data, issue_token, settings)
    out = token_out(issued.token)
    return IssuedTokenOut(**{f: getattr(out, f) for f in out.__struct_fields__}, token=issued.secret_token)


@get("/tokens", summary="Tokens (never the token itself)", dependencies=p.PAGE)
async def tokens(list_tokens: UseCase[Page[ApiToken]], page: PageRequest) -> TokenPage:
    found = await list_tokens(page)
    return TokenPage(
        tokens=[token_out(t) for t in found.items],
        total=found.total,
        limit=found.limit,
        offset=found.offset,
        next_cursor=found.next_cursor,
    )


@delete("/tokens/{token_id:str}", status_code=204, summary="Revoke a token")
async def revoke(revoke_token: UseCase[ApiToken], token_id: p.TokenId) -> None:
    await revoke_token(token_id)


router = Router(path="/api/auth", route_handlers=[issue, start_session, stop_session, tokens, revoke], tags=["auth"])
