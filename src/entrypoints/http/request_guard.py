"""A web page must not be able to use a local server: every request names a host the server answers to, and
every write that says where it comes from comes from the served origin or a configured one.

A form post from another site carries that site's `Origin`; a DNS-rebinding page reaches 127.0.0.1 under its
own name, which arrives as `Host`. Both hold even with auth off on loopback, where no token stops them.
Browsers always send `Host`, and `Origin` on every cross-origin write, so a request without `Origin` (curl,
the desktop app) is not a browser's cross-origin write.
"""

from __future__ import annotations

from typing import Final

from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Receive, Scope, Send

from entrypoints.settings import Settings, is_loopback

LOOPBACK_NAMES: Final = frozenset({"localhost", "127.0.0.1", "::1"})
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


def host_name(host: str) -> str:
    """`Host` without its port, lower case; `[::1]:8000` is `::1`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def allowed_hosts(settings: Settings) -> frozenset[str] | None:
    """The names the server answers to; None when any will do (a public bind with no names configured,
    where a token guards every route anyway)."""
    configured = {host_name(name) for name in settings.allowed_hosts}
    if is_loopback(settings.host):
        return frozenset(LOOPBACK_NAMES | {host_name(settings.host)} | configured)
    return frozenset(configured) if configured else None


def request_guard(settings: Settings) -> type:
    hosts = allowed_hosts(settings)
    origins = frozenset(origin.rstrip("/").lower() for origin in settings.cors_origins)

    class RequestGuard:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] not in (ScopeType.HTTP, ScopeType.WEBSOCKET):
                await self.app(scope, receive, send)
                return
            headers = Headers.from_scope(scope)
            host = headers.get("host")
            if host is not None and hosts is not None and host_name(host) not in hosts:
                raise HTTPException(
                    status_code=421, detail="this server does not answer to that host name", extra={"host": host[:200]}
                )
            origin = headers.get("origin")
            method = str(scope.get("method", "GET")).upper()
            if origin is not None and (method not in SAFE_METHODS or scope["type"] == ScopeType.WEBSOCKET):
                served = f"{scope.get('scheme', 'http')}://{host or ''}".lower()
                if origin.rstrip("/").lower() not in origins | {served}:
                    raise HTTPException(
                        status_code=403,
                        detail="cross-origin writes are refused",
                        extra={"origin": origin[:200], "allowed": sorted(origins)},
                    )
            await self.app(scope, receive, send)

    return RequestGuard
