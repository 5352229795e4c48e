"""Two `stage1 serve` processes on one Postgres count a client's credential tries and failures together, so a
second process never doubles a guesser's budget; and only a trusted proxy may name the client in
X-Forwarded-For."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import httpx
import pytest
from tests.integration.serve_processes import production, started
from tests.jobs_support import fresh_postgres_database as postgres_database

SECRET = "correct horse battery staple"
GUARDED = {"auth_secret": SECRET, "auth_enabled": "true"}


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """The first trusts 127.0.0.1 as its proxy, the second trusts nobody (the default)."""
    with postgres_database("stage1_guessing") as url:
        shared = production(url) | GUARDED | {"auth_lockout_after": "3", "auth_rate_limit_per_minute": "4"}
        settings = [shared | {"trusted_proxies": '["127.0.0.1"]'}, shared]
        with started(tmp_path_factory.mktemp("guessing"), settings) as urls:
            yield urls


def test_two_processes_share_the_minute_limit_and_the_lockout(two_servers: list[str]) -> None:
    turns = itertools.cycle(two_servers)
    if time.time() % 60 > 45:  # the six tries below must fall in one minute's count
        time.sleep(60 - time.time() % 60)
    with httpx.Client(timeout=30) as http:
        issued = [
            http.post(f"{next(turns)}/api/auth/token", json={"secret": SECRET, "name": f"t{i}"}).status_code
            for i in range(6)
        ]
        guesses = [
            http.get(f"{next(turns)}/api/datasets", headers={"X-Stage1-Token": f"s1_guess{i}"}).status_code
            for i in range(6)
        ]
        proxied = {"X-Stage1-Token": "s1_guess_proxied", "X-Forwarded-For": "203.0.113.7"}
        behind_trusted_proxy = http.get(f"{two_servers[0]}/api/datasets", headers=proxied)
        claiming_a_new_address = http.get(f"{two_servers[1]}/api/datasets", headers=proxied)
    assert issued == [201] * 4 + [429, 429]  # 4 a minute in all, not 4 per process
    assert guesses == [401, 401, 401, 429, 429, 429]  # locked out at the 3rd failure, wherever it was sent
    assert behind_trusted_proxy.status_code == 401  # the proxy's client is another client
    assert claiming_a_new_address.status_code == 429  # nobody else can pick an address by sending the header
    assert int(claiming_a_new_address.headers["retry-after"]) >= 1
