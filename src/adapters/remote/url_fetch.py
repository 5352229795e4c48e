"""Fetch a file from a URL, streamed, under the server's FetchPolicy (domain.remote_sources).

httpcore is used below httpx for one reason: its network backend can be replaced, so the connection is made
to the very address that was resolved and checked (no second lookup a rebinding name could answer
differently). TLS still verifies the host name, which httpcore sends as SNI. Redirects are followed by hand,
each hop checked like the first."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterable
from typing import Any, Final
from urllib.parse import urljoin

import anyio
import httpcore

from domain.errors import InvalidInput, UpstreamError
from domain.remote_sources import FetchPolicy, RemoteUrl

MAX_REDIRECTS: Final = 5
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})


class _CheckedAddresses(httpcore.AsyncNetworkBackend):
    """Connects only to an address the policy accepted for that host, resolved here once."""

    def __init__(self, policy: FetchPolicy, remote: RemoteUrl, field: str) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._policy = policy
        self._remote = remote
        self._field = field

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            found = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise UpstreamError(
                f"{self._field}: cannot resolve {host}", {"field": self._field, "url": self._remote.shown}
            ) from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
        self._policy.check_addresses(self._remote, addresses, self._field)
        return await self._inner.connect_tcp(
            addresses[0], port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise InvalidInput("unix sockets are never fetched", {"field": self._field})

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


async def fetch(url: str, field: str, policy: FetchPolicy, timeout: float = 30.0) -> AsyncIterator[bytes]:
    """The body at `url`, chunk by chunk. A refused URL or address, or an answer of 4xx, is a 400; a remote
    that cannot be reached or fails (5xx, timeout) is a 502; both name the URL without its query."""
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        remote = policy.check_url(current, field)
        limits = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
        async with httpcore.AsyncConnectionPool(network_backend=_CheckedAddresses(policy, remote, field)) as pool:
            try:
                async with pool.stream(
                    "GET", current, headers=[(b"User-Agent", b"stage1"), (b"Accept", b"*/*")],
                    extensions={"timeout": limits},
                ) as response:  # fmt: skip
                    if response.status in _REDIRECTS:
                        location = _header(response.headers, b"location")
                        if location is None:
                            raise UpstreamError(f"{field}: a redirect without a Location", _where(field, remote))
                        current = urljoin(current, location)
                        continue
                    if response.status >= 400:
                        failed = InvalidInput if response.status < 500 else UpstreamError
                        raise failed(
                            f"{field}: {remote.shown} answered {response.status}",
                            {**_where(field, remote), "status": response.status},
                        )
                    async for chunk in response.aiter_stream():
                        yield chunk
                    return
            except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError) as exc:
                raise UpstreamError(
                    f"{field}: fetching {remote.shown} failed ({type(exc).__name__})", _where(field, remote)
                ) from exc
    raise InvalidInput(f"{field}: more than {MAX_REDIRECTS} redirects", {"field": field, "url": remote.shown})


def _where(field: str, remote: RemoteUrl) -> dict[str, Any]:
    return {"field": field, "url": remote.shown}


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None
