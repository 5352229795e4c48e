"""Which URLs the server may fetch a frame from (`ohlcv_url`, `indicator_url`, `url`).

Only listed hosts, over http(s); and whatever a name resolves to, an address that is not public (private,
loopback, link-local, reserved...) is refused unless that address (or its network) is listed too. Every
address a name resolves to is checked, for the first request and after each redirect, and the connection
goes to an address that was checked, so a name that changes its answer between check and use (DNS
rebinding) cannot reach an internal one."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from domain.errors import InvalidInput

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class RemoteUrl:
    url: str
    host: str
    port: int

    @property
    def shown(self) -> str:
        """The URL as errors name it: without its query string or fragment (they may carry secrets)."""
        return shown(self.url)


def shown(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return f"{parts.scheme}://{netloc}{parts.path}"[:500]


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    hosts: frozenset[str]
    networks: tuple[IpNetwork, ...]

    @classmethod
    def of(cls, entries: list[str]) -> FetchPolicy:
        """Entries are host names, or IP addresses / networks (`10.0.0.0/8`) allowed even though internal."""
        hosts: set[str] = set()
        networks: list[IpNetwork] = []
        for entry in (e.strip().lower().rstrip(".") for e in entries):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                hosts.add(entry)
        return cls(frozenset(hosts), tuple(networks))

    def check_url(self, url: str, field: str) -> RemoteUrl:
        """A URL the server may request: http(s), no credentials, a listed host."""
        if not self.hosts and not self.networks:
            raise InvalidInput(
                f"{field}: fetching from a URL is off on this server (STAGE1_FETCH_ALLOWED_HOSTS lists no host)",
                {"field": field},
            )
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise InvalidInput(f"{field} is not a valid URL", {"field": field}) from exc
        host = (parts.hostname or "").rstrip(".")
        if parts.scheme not in ("http", "https") or not host:
            raise InvalidInput(f"{field} must be an http or https URL with a host", {"field": field, "url": shown(url)})
        if parts.username is not None or parts.password is not None:
            raise InvalidInput(f"{field} must not carry credentials", {"field": field, "url": shown(url)})
        if not self.host_listed(host):
            raise InvalidInput(
                f"{field}: host {host} is not in STAGE1_FETCH_ALLOWED_HOSTS",
                {"field": field, "url": shown(url), "host": host},
            )
        return RemoteUrl(url, host, port or (443 if parts.scheme == "https" else 80))

    def host_listed(self, host: str) -> bool:
        address = _address(host)
        if address is None:
            return host.lower() in self.hosts
        return str(address) in self.hosts or any(address in network for network in self.networks)

    def check_addresses(self, remote: RemoteUrl, addresses: list[str], field: str) -> None:
        """Every address the host resolved to must be public, or listed explicitly."""
        refused = [text for text in addresses if not self.address_allowed(text)]
        if refused or not addresses:
            raise InvalidInput(
                f"{field}: {remote.host} resolves to an internal address, which is refused unless listed in "
                "STAGE1_FETCH_ALLOWED_HOSTS",
                {"field": field, "url": remote.shown, "host": remote.host},
            )

    def address_allowed(self, text: str) -> bool:
        address = _address(text)
        if address is None:
            return False
        if any(address in network for network in self.networks):
            return True
        return address.is_global and not address.is_multicast


def _address(text: str) -> IpAddress | None:
    try:
        address = ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
    return address
