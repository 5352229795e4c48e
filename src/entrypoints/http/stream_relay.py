"""Events to one WebSocket client without letting it hold anyone up.

Two tasks per connection, ended together: one sends the feed's events, one listens for the client leaving.
The bounded queue between the feed and a client is the feed's own per-subscriber buffer: the fan-out never
waits on a subscriber, and one that falls more than that buffer behind reads the gap from the store again
(adapters/jobs/events.py). A client that stops reading stalls only its own send, once its socket's buffers
are full; a send that waits longer than the deadline ends the stream with 4408, and the client resumes with
`last_event_id`. So one slow client costs at most that buffer and its socket buffers, never another's time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import WebSocket
from litestar.exceptions import WebSocketDisconnect

from application.ports import Event

TOO_SLOW = 4408
# A client that stopped reading cannot even take the close frame: after this long it is dropped without one.
CLOSE_WAIT_SECONDS = 1.0
# A close frame's reason is at most 123 bytes (RFC 6455, 5.5: control frames carry at most 125).
MAX_REASON_BYTES = 123


@dataclass(frozen=True)
class Closing:
    """How the server ends a stream: a close code and a one-line reason."""

    code: int
    reason: str


class StreamMessage(msgspec.Struct):
    """One event as a text message; `id` is what `?last_event_id=` resumes after, null on a live-only event
    (a job's progress), which is not stored and so never replayed (as the SSE feed sends it without an id)."""

    id: int | None
    type: str
    data: dict[str, Any]


def encoded(event: Event) -> str:
    return msgspec.json.encode(StreamMessage(event.id if event.kept else None, event.type, event.data)).decode()


async def relay(socket: WebSocket[Any, Any, Any], events: AsyncIterator[Event], send_seconds: float) -> Closing | None:
    """Sends `events` until the client leaves (None) or one send waits over `send_seconds` (4408). An error
    of the feed is raised. The events are closed and both tasks ended on every path, the handler's
    cancellation (the server stopping) included."""
    sending = asyncio.create_task(_send(socket, events, send_seconds), name="ws-stream-send")
    hearing = asyncio.create_task(_hear(socket), name="ws-stream-hear")
    try:
        await asyncio.wait((sending, hearing), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sending, hearing):
            task.cancel()
        await asyncio.gather(sending, hearing, return_exceptions=True)
    if sending.cancelled():  # the client left first
        return None
    return sending.result()


async def _send(socket: WebSocket[Any, Any, Any], events: AsyncIterator[Event], seconds: float) -> Closing | None:
    try:
        async for event in events:
            try:
                async with asyncio.timeout(seconds):
                    await socket.send_text(encoded(event))
            except TimeoutError:
                return Closing(TOO_SLOW, f"too slow: a message waited over {seconds:g} s; resume with last_event_id")
            except (WebSocketDisconnect, OSError):  # the client left mid-send (uvicorn's ClientDisconnected)
                return None
    finally:
        closer = getattr(events, "aclose", None)
        if closer is not None:
            await closer()
    return Closing(1011, "the event feed ended")


async def _hear(socket: WebSocket[Any, Any, Any]) -> None:
    """Returns when the client leaves; what it sends meanwhile is ignored."""
    with contextlib.suppress(WebSocketDisconnect):
        while (await socket.receive())["type"] != "websocket.disconnect":
            pass


def short_reason(text: str) -> str:
    data = text.encode()
    return text if len(data) <= MAX_REASON_BYTES else data[:MAX_REASON_BYTES].decode(errors="ignore")


async def close(socket: WebSocket[Any, Any, Any], closing: Closing) -> None:
    """Closes with `closing`'s code, unless the client is gone or too stalled to take the frame."""
    with contextlib.suppress(WebSocketDisconnect, OSError, RuntimeError, TimeoutError):
        async with asyncio.timeout(CLOSE_WAIT_SECONDS):
            await socket.close(closing.code, short_reason(closing.reason))
