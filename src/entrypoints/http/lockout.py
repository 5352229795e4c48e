"""The 429s of credential guessing, and who "the client" is.

The client is the peer of the socket, unless that peer is a trusted proxy (`STAGE1_TRUSTED_PROXIES`): then
it is the address that proxy saw, read from `X-Forwarded-For` right to left past every trusted hop. A
client that is not a trusted proxy cannot choose its own address (and so its own rate-limit bucket) by
sending the header.
"""

from __future__ import annotations

import ipaddress
import math
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException

from application.credential_guard import CredentialGuard

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class LockedOut(HTTPException):
    status_code = 429


def too_many(wait: float, detail: str) -> LockedOut:
    seconds = max(math.ceil(wait), 1)
    return LockedOut(detail=detail, headers={"Retry-After": str(seconds)}, extra={"retry_after_seconds": seconds})


def locked_out(wait: float) -> LockedOut:
    return too_many(wait, "too many failed attempts from this address; try again later")


def guard_of(connection: ASGIConnection[Any, Any, Any, Any]) -> CredentialGuard:
    return connection.app.state.credential_guard  # type: ignore[no-any-return]


async def check_not_locked_out(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """A 429 with `Retry-After` while the client is locked out; answers the client's address."""
    address = client_address(connection)
    wait = await guard_of(connection).wait_seconds(address)
    if wait > 0:
        raise locked_out(wait)
    return address


async def check_credential_try(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """A try at a route that checks the shared secret: the strict per-minute limit, then the lockout."""
    address = client_address(connection)
    wait = await guard_of(connection).tried(address)
    if wait > 0:
        raise too_many(wait, "too many credential requests from this address; try again later")
    return await check_not_locked_out(connection)


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    client = connection.client
    peer = client.host if client and client.host else "unknown"
    trusted: tuple[Network, ...] = getattr(connection.app.state, "trusted_proxies", ())
    if not trusted or not _within(peer, trusted):
        return peer
    hops = [hop.strip() for value in connection.headers.getall("x-forwarded-for", []) for hop in value.split(",")]
    hops = [hop for hop in hops if hop]
    for hop in reversed(hops):
        if not _within(hop, trusted):
            # The first hop no trusted proxy vouches for is the client; one that is no address at all means
            # a proxy in front is misconfigured, and the peer is all we can be sure of.
            return hop if _address(hop) is not None else peer
    return hops[0] if hops else peer


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def _within(text: str, networks: tuple[Network, ...]) -> bool:
    address = _address(text)
    return address is not None and any(address in network for network in networks)
