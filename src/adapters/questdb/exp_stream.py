"""One `/exp` answer of QuestDB read straight off its socket and parsed by httptools.

Why not httpx, which the other QuestDB calls use: an export relays tens of megabytes, and httpx's
pure-Python HTTP/1.1 reader (h11) took about four times the CPU of a plain socket read parsed by httptools,
the C parser uvicorn already serves with (1M prediction rows, 43 MB of CSV, read in process: 0.118 against
0.029 CPU s). Reads of up to 256 KB also hand the response on in a third as many chunks. On a small machine
that CPU is taken from QuestDB while it writes the rows.

Each export has a connection of its own, closed when the export ends however it ends: a client that hangs
up closes it too, and a closed connection is what stops QuestDB's statement. QuestDB frames every answer
(chunked or with a length), so a connection that closes before the end is a cut answer, never the end.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote, unquote, urlencode, urlsplit

import anyio
import anyio.abc
import httptools

READ_BYTES: Final = 256 * 1024


class AnswerCut(Exception):
    """The connection closed or broke before QuestDB's answer was complete."""


@dataclass(frozen=True, slots=True)
class ExpEndpoint:
    """Where `/exp` answers: host, port, TLS or not, the path (under the base URL's own path) and the basic
    credentials of the base URL, if it carries any."""

    host: str
    port: int
    tls: bool
    path: str
    host_header: str
    authorization: str | None

    @classmethod
    def of(cls, base_url: str) -> ExpEndpoint:
        parts = urlsplit(base_url)
        tls = parts.scheme == "https"
        authorization = None
        if parts.username is not None:
            credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            authorization = "Basic " + base64.b64encode(credentials).decode("ascii")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (443 if tls else 80),
            tls=tls,
            path=parts.path.rstrip("/") + "/exp",
            host_header=parts.netloc.rpartition("@")[2],
            authorization=authorization,
        )

    def request(self, sql: str, headers: Mapping[str, str]) -> bytes:
        lines = [
            f"GET {self.path}?{urlencode({'query': sql}, quote_via=quote)} HTTP/1.1",
            f"Host: {self.host_header}",
            "Accept-Encoding: identity",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        if self.authorization is not None:
            lines.append(f"Authorization: {self.authorization}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()


class ExpAnswer:
    """The answer to one `/exp` request, its status known; `body()` streams the rest as it arrives."""

    def __init__(self, stream: anyio.abc.ByteStream) -> None:
        self._stream = stream
        self._parser = httptools.HttpResponseParser(self)
        self._pieces: list[bytes] = []
        self._headers_done = False
        self._complete = False
        self.status = 0

    # httptools calls these while it parses what `_receive` feeds it.
    def on_headers_complete(self) -> None:
        self._headers_done = True
        self.status = self._parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        self._pieces.append(body)

    def on_message_complete(self) -> None:
        self._complete = True

    async def body(self, timeout: float) -> AsyncIterator[bytes]:
        """The body as it arrives; `timeout` bounds every wait for the next piece."""
        while True:
            if self._pieces:
                pieces, self._pieces = self._pieces, []
                yield pieces[0] if len(pieces) == 1 else b"".join(pieces)
            if self._complete:
                return
            with anyio.fail_after(timeout):
                await self._receive()

    async def read(self, limit: int) -> bytes:
        """The body whole, for an error's short JSON; past `limit` bytes the rest is left unread."""
        data = b""
        async for piece in self.body(30.0):
            data += piece
            if len(data) >= limit:
                break
        return data[:limit]

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):
            await self._stream.aclose()

    async def _receive(self) -> None:
        try:
            data = await self._stream.receive(READ_BYTES)
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError) as exc:
            raise AnswerCut(f"QuestDB closed the connection mid-answer ({type(exc).__name__})") from exc
        self._parser.feed_data(data)

    @classmethod
    async def open(
        cls, endpoint: ExpEndpoint, sql: str, headers: Mapping[str, str], connect_timeout: float, timeout: float
    ) -> ExpAnswer:
        """Send the request and wait for the answer's status and headers, `timeout` at most for each read.

        Raises ConnectionError when QuestDB cannot be reached, AnswerCut when it hangs up before answering."""
        try:
            with anyio.fail_after(connect_timeout):
                stream: anyio.abc.ByteStream
                if endpoint.tls:
                    stream = await anyio.connect_tcp(endpoint.host, endpoint.port, tls=True, tls_hostname=endpoint.host)
                else:
                    stream = await anyio.connect_tcp(endpoint.host, endpoint.port)
        except (OSError, TimeoutError) as exc:
            raise ConnectionError(f"cannot connect to {endpoint.host}:{endpoint.port}: {exc!r}") from exc
        answer = cls(stream)
        try:
            await stream.send(endpoint.request(sql, headers))
            while not answer._headers_done:
                with anyio.fail_after(timeout):
                    await answer._receive()
        except BaseException as exc:
            await answer.aclose()
            cut = isinstance(exc, anyio.BrokenResourceError | anyio.ClosedResourceError | OSError)
            if cut and not isinstance(exc, TimeoutError):  # a TimeoutError is an OSError too
                raise AnswerCut(f"QuestDB closed the connection before answering ({type(exc).__name__})") from exc
            raise
        return answer
