"""`/ws/streams/{dataset_slug}` over Litestar's test client and the in-memory fakes (the real server, stores and
slow clients are in tests/integration/test_websocket_streams.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient
from litestar.testing.websocket_test_session import WebSocketTestSession
from pydantic import SecretStr
from tests.unit.entrypoints.http.conftest import World

from entrypoints.http.app import create_app

SECRET = "correct horse battery staple"


@pytest.fixture
def secured(world: World) -> Iterator[TestClient[Any]]:
    world.settings.auth_enabled = True
    world.settings.auth_secret = SecretStr(SECRET)
    world.settings.ws_auth_seconds = 0.2
    with TestClient(app=create_app(world.settings, world.container())) as client:
        yield client


def token_of(client: TestClient[Any]) -> str:
    return str(client.post("/api/auth/token", json={"secret": SECRET}).json()["token"])


def save(client: TestClient[Any], slug: str, token: str, n: int) -> None:
    answer = client.post("/api/datasets", json={"dataset_slug": slug, "metadata": {"n": n}}, headers={"X-Stage1-Token": token})
    assert answer.status_code in (200, 201), answer.text


def closed_with(ws: WebSocketTestSession) -> int:
    with pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_text()
    return int(closed.value.code or 0)


def test_a_stream_carries_only_its_datasets_events_in_order(secured: TestClient[Any]) -> None:
    token = token_of(secured)
    for n in range(3):
        save(secured, "mine", token, n)
        save(secured, "theirs", token, n)
    with secured.websocket_connect("/ws/streams/mine?last_event_id=0", headers={"X-Stage1-Token": token}) as ws:
        got = [ws.receive_json() for _ in range(3)]
    assert [event["data"]["dataset_slug"] for event in got] == ["mine"] * 3
    assert [event["type"] for event in got] == ["dataset.updated"] * 3
    assert [event["id"] for event in got] == sorted({event["id"] for event in got})


def test_a_first_message_token_opens_the_stream_no_token_closes_it_with_4401_and_an_unknown_dataset_with_4404(
    secured: TestClient[Any],
) -> None:
    token = token_of(secured)
    save(secured, "mine", token, 0)
    with secured.websocket_connect("/ws/streams/mine?last_event_id=0") as ws:
        ws.send_json({"token": token})
        assert ws.receive_json()["data"]["dataset_slug"] == "mine"
    with secured.websocket_connect("/ws/streams/mine") as ws:
        assert closed_with(ws) == 4401
    with secured.websocket_connect("/ws/streams/nothing_here", headers={"X-Stage1-Token": token}) as ws:
        assert closed_with(ws) == 4404
