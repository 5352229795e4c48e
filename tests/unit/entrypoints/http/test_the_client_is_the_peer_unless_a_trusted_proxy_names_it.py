"""Who the client is, for rate limits and the lockout: the socket's peer, or, when that peer is a trusted
proxy, the first address in X-Forwarded-For (from the right) that no trusted proxy vouches for."""

from __future__ import annotations

import ipaddress
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar.datastructures import Headers

from entrypoints.http.lockout import client_address

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128"))


def connection(peer: str | None, forwarded: list[str], trusted: tuple[Any, ...] = PROXIES) -> Any:
    headers = Headers([(b"x-forwarded-for", value.encode()) for value in forwarded])
    return SimpleNamespace(
        client=None if peer is None else SimpleNamespace(host=peer),
        headers=headers,
        app=SimpleNamespace(state=SimpleNamespace(trusted_proxies=trusted)),
    )


CASES = [
    # (peer, X-Forwarded-For headers, trusted proxies?, the client)
    ("198.51.100.1", [], True, "198.51.100.1"),
    ("198.51.100.1", ["203.0.113.7"], True, "198.51.100.1"),  # an untrusted peer cannot pick its address
    ("10.1.2.3", ["203.0.113.7"], False, "10.1.2.3"),  # nobody is trusted by default
    ("10.1.2.3", [], True, "10.1.2.3"),
    ("10.1.2.3", ["203.0.113.7"], True, "203.0.113.7"),
    ("10.1.2.3", ["1.1.1.1, 203.0.113.7"], True, "203.0.113.7"),  # what the client wrote itself is not believed
    ("10.1.2.3", ["203.0.113.7, 10.9.9.9"], True, "203.0.113.7"),  # past every trusted hop
    ("10.1.2.3", ["1.1.1.1", "203.0.113.7, 10.0.0.5"], True, "203.0.113.7"),  # the header sent twice
    ("10.1.2.3", ["10.0.0.7, 10.0.0.5"], True, "10.0.0.7"),  # every hop trusted: the first
    ("10.1.2.3", ["not-an-address"], True, "10.1.2.3"),  # a proxy that wrote nonsense: the peer
    ("::1", ["2001:db8::5"], True, "2001:db8::5"),
    (None, ["203.0.113.7"], True, "unknown"),
]


@pytest.mark.parametrize(("peer", "forwarded", "trusting", "client"), CASES)
def test_the_client_address(peer: str | None, forwarded: list[str], trusting: bool, client: str) -> None:
    assert client_address(connection(peer, forwarded, PROXIES if trusting else ())) == client


addresses = st.ip_addresses(v=4).map(str)


@given(peer=addresses, forwarded=st.lists(addresses, max_size=5))
def test_an_untrusted_peer_is_always_the_client_whatever_it_forwards(peer: str, forwarded: list[str]) -> None:
    if ipaddress.ip_address(peer) in PROXIES[0]:
        return
    assert client_address(connection(peer, [", ".join(forwarded)] if forwarded else [])) == peer


@given(chain=st.lists(addresses, min_size=1, max_size=5))
def test_behind_a_trusted_proxy_the_client_is_one_of_the_forwarded_addresses(chain: list[str]) -> None:
    assert client_address(connection("10.0.0.1", [", ".join(chain)])) in chain
