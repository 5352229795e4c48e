"""`/ws/streams/{dataset_slug}`: the events of one dataset over a WebSocket, resumable with `?last_event_id=`.

A browser cannot set headers on a WebSocket, so besides `X-Stage1-Token` (or `Authorization: Bearer`) and the
session cookie, the token may come as the first message. The auth middleware skips this route
(`exclude_from_auth`): it would refuse before the handshake, where a client cannot tell a bad token from a
network failure; here the connection is accepted and closed with 4401. A page of another site cannot ride the
session cookie: browsers send `Origin` on every WebSocket, and the request guard refuses one that is not the
served origin or a configured one, so this read-only stream needs no CSRF token.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Final

import msgspec
from litestar import Router, WebSocket, websocket
from litestar.exceptions import HTTPException

from application.ports import Event
from domain.datasets import Dataset
from domain.errors import Stage1Error, Unauthorized
from domain.tokens import ApiToken
from entrypoints.http.auth import SESSION_COOKIE, presented_token
from entrypoints.http.errors import status_for
from entrypoints.http.events import event_id
from entrypoints.http.lockout import check_not_locked_out, guard_of
from entrypoints.http.stream_relay import TOO_SLOW, Closing, close, relay
from entrypoints.http.use_cases import StreamingUseCase, UseCase
from entrypoints.settings import Settings

PATH: Final = "/ws/streams/{dataset_slug:str}"
# The close codes a client may see: 4000 + the status the same failure has on the HTTP routes.
CLOSE_CODES: Final[dict[int, str]] = {
    4400: "`last_event_id` is not an event id.",
    4401: "No token, or an unknown, expired or revoked one: not in `X-Stage1-Token`, `Authorization: Bearer` or "
    "the session cookie, and no first message `{\"token\": \"...\"}` within `STAGE1_WS_AUTH_SECONDS` (5 s).",
    4404: "Unknown dataset (the path takes its slug or its id).",
    TOO_SLOW: "The client stopped reading: a message waited over `STAGE1_WS_SEND_SECONDS` (10 s) for it; "
    "reconnect with `last_event_id`.",
    4429: "Too many failed tokens from this address; it is locked out for a while.",
    4503: "The event store is unreachable; reconnect with `last_event_id` later.",
    1011: "The event feed ended unexpectedly; reconnect with `last_event_id`.",
}




def described() -> str:
    """The route in words, for the description of the OpenAPI document (which has no operation for it)."""
    codes = "\n".join(f"- `{code}`: {meaning}" for code, meaning in sorted(CLOSE_CODES.items()))
    return f"""## WebSocket: `/ws/streams/{{dataset_slug}}`

`GET /ws/streams/{{dataset_slug}}`, upgraded to a WebSocket: the events of
`GET /api/events?dataset=<slug>` for that dataset (its slug or its id), its runs, simulations and jobs, in id order,
as JSON text messages `{{"id": 12, "type": "dataset.updated", "data": {{...}}}}`. `id` is null on a job's progress,
which is sent live only and never replayed.

- `?last_event_id=<id>` resumes after that event (the last `id` the client saw); without it, from now on.
- Auth, when tokens are required: the `X-Stage1-Token` header (or `Authorization: Bearer`), the browser session
  cookie of `POST /api/auth/session` (from a page of the served origin or of `STAGE1_CORS_ORIGINS`; any other
  `Origin` is refused before the handshake, 403), or a first message `{{"token": "..."}}` within
  `STAGE1_WS_AUTH_SECONDS` (5 s). A wrong token counts towards the address's lockout as on every route.
- The server ignores what the client sends after that; the server pings, so idle streams stay open.

The server closes with:

{codes}
"""


class FirstMessage(msgspec.Struct, forbid_unknown_fields=False):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


class ClientLeft(Exception):
    """The client went away before the stream started: there is nobody to close for."""


def _resume_after(value: str | None) -> int | None:
    return event_id(value, "last_event_id", {"field": "last_event_id"})


async def _first_message_token(socket: WebSocket[Any, Any, Any], wait: float) -> str:
    try:
        async with asyncio.timeout(wait):
            message = await socket.receive()
    except TimeoutError as exc:
        raise Unauthorized(f'no token: none in the handshake, and no {{"token": ...}} within {wait:g} s') from exc
    if message["type"] == "websocket.disconnect":
        raise ClientLeft
    text, data = message.get("text"), message.get("bytes")
    body = text if isinstance(text, str) else data if isinstance(data, bytes) else b""
    try:
        return msgspec.json.decode(body, type=FirstMessage).token
    except msgspec.MsgspecError as exc:
        raise Unauthorized('the first message must be {"token": "..."}') from exc


async def _authenticated(socket: WebSocket[Any, Any, Any], authenticate: UseCase[ApiToken], wait: float) -> ApiToken:
    """The token of the header, else of the session cookie, else of the first message; a wrong one counts
    against the address as it does on every other route."""
    presented = presented_token(socket) or socket.cookies.get(SESSION_COOKIE) or None
    if presented is None:
        presented = await _first_message_token(socket, wait)
    address = await check_not_locked_out(socket)
    try:
        return await authenticate(presented)
    except Unauthorized:
        await guard_of(socket).failed(address)
        raise


@websocket(PATH, opt={"exclude_from_auth": True})
async def dataset_stream(
    socket: WebSocket[Any, Any, Any],
    dataset_slug: str,
    settings: Settings,
    follow_events: StreamingUseCase[Event],
    get_dataset: UseCase[Dataset],
    authenticate: UseCase[ApiToken],
) -> None:
    await socket.accept()
    closing: Closing | None
    try:
        if settings.auth_required:
            await _authenticated(socket, authenticate, settings.ws_auth_seconds)
        resume = _resume_after(socket.query_params.get("last_event_id"))
        dataset = await get_dataset(dataset_slug)
        closing = await relay(socket, follow_events(None, resume, dataset), settings.ws_send_seconds)
    except ClientLeft:
        return
    except Stage1Error as exc:
        closing = Closing(4000 + status_for(exc), exc.message)
    except HTTPException as exc:  # the lockout's 429
        closing = Closing(4000 + exc.status_code, exc.detail)
    if closing is not None:
        await close(socket, closing)


router = Router(path="/", route_handlers=[dataset_stream])
