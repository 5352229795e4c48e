"""Every request gets an id and one access line. The id is the client's `X-Request-ID` when it is a sane token,
else a new one; it is echoed in the answer's `X-Request-ID`, bound to every log line the request causes, and
stored on the jobs it queues so the worker's lines carry it too."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any, Final

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

HEADER: Final = b"x-request-id"
# Letters, digits and `._:-`, at most 128: what proxies and tracers send, and nothing a log line could be forged with.
SANE: Final = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")
log = logging.getLogger("stage1.access")


def request_id_of(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name.lower() == HEADER and SANE.fullmatch(value):
            return value.decode("ascii")
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    """The id of the request being handled, if any (a job queued now keeps it)."""
    value = structlog.contextvars.get_contextvars().get("request_id")
    return value if isinstance(value, str) else None


def access_log(app: ASGIApp) -> ASGIApp:
    """Wraps the whole app (not a route), so unknown paths and refused methods are logged too."""
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        request_id = request_id_of(list(scope.get("headers", [])))
        started = time.perf_counter()
        answer: dict[str, Any] = {"status": 500, "bytes": 0}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                message["headers"] = [*message.get("headers", []), (HEADER, request_id.encode("ascii"))]
            elif message["type"] == "http.response.body":
                answer["bytes"] += len(message.get("body", b""))
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await app(scope, receive, send_with_id)
            finally:
                request: dict[str, Any] = dict(scope)  # an HTTP scope: it has a method
                client = request.get("client")
                log.info(
                    "request",
                    extra={
                        "method": request["method"],
                        "path": request["path"],
                        "status": answer["status"],
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                        "bytes": answer["bytes"],
                        "client": client[0] if client else None,
                    },
                )

    return middleware
