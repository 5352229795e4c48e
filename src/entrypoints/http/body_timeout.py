"""A request body that stops arriving is cut with a 408 instead of holding its connection forever.

Uvicorn bounds the wait between requests (keep-alive) but not the wait inside a body: a client that sends
part of an upload and stalls would keep a worker's request open for as long as the socket lives. The bound
is on the pause between two chunks, not on the whole upload, so a slow but steady client still gets through."""

from __future__ import annotations

from typing import Any

import anyio
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

BODY_IDLE_SECONDS: float = 60.0


class BodyStalled(HTTPException):
    status_code = 408


def body_timeout(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        body_done = False

        async def bounded_receive() -> ReceiveMessage:
            nonlocal body_done
            if body_done:  # later calls wait for the disconnect, for as long as the answer takes
                return await receive()
            limit = BODY_IDLE_SECONDS
            with anyio.move_on_after(limit) as scope_:
                message: Any = await receive()
            if scope_.cancelled_caught:
                raise BodyStalled(
                    detail=f"the request body stalled for more than {limit:g} s",
                    extra={"idle_seconds": limit},
                )
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message  # type: ignore[no-any-return]

        await app(scope, bounded_receive, send)

    return middleware
