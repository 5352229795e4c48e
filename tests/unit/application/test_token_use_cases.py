"""Token use cases through in-memory fakes: issue against the secret, authenticate, expire, revoke."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.unit.application.harness import Harness

from application.auth import authenticate, create_token, issue_token, list_tokens, revoke_token
from domain.errors import InvalidInput, NotFound, Unauthorized
from domain.paging import PageRequest

pytestmark = pytest.mark.anyio


async def test_only_the_right_secret_issues_a_token_and_only_its_hash_is_kept(harness: Harness) -> None:
    issue = harness.ports.bind(issue_token)
    with pytest.raises(Unauthorized):
        await issue("the-secret", "wrong", "alice", 30)
    issued = await issue("the-secret", "the-secret", "alice", 30)
    [stored] = harness.metadata.tokens.values()
    assert stored.name == "alice" and issued.secret_token not in stored.token_hash
    assert (await harness.ports.bind(authenticate)(issued.secret_token)).token_id == stored.token_id


async def test_an_unknown_an_expired_and_a_revoked_token_do_not_authenticate(harness: Harness) -> None:
    check = harness.ports.bind(authenticate)
    with pytest.raises(Unauthorized):
        await check("s1_not_a_token")
    short = await harness.ports.bind(create_token)("short", 1)
    harness.clock.moment += timedelta(days=2)
    with pytest.raises(Unauthorized, match="expired"):
        await check(short.secret_token)
    kept = await harness.ports.bind(create_token)("kept", 30)
    await harness.ports.bind(revoke_token)(str(kept.token.token_id))
    with pytest.raises(Unauthorized, match="revoked"):
        await check(kept.secret_token)


async def test_revoking_an_unknown_token_is_not_found_and_tokens_are_listed(harness: Harness) -> None:
    await harness.ports.bind(create_token)("a", 30)
    await harness.ports.bind(create_token)("b", 30)
    with pytest.raises(NotFound):
        await harness.ports.bind(revoke_token)("not-a-uuid")
    page = await harness.ports.bind(list_tokens)(PageRequest(limit=10))
    assert sorted(t.name for t in page.items) == ["a", "b"]


async def test_a_token_name_outside_the_rules_is_refused(harness: Harness) -> None:
    with pytest.raises(InvalidInput):
        await harness.ports.bind(create_token)("", 30)
