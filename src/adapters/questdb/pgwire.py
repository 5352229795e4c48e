"""The few Postgres wire messages an export needs, with the rows handed on as raw bytes in blocks.

Why not asyncpg here: asyncpg builds a Python object per value, a third of QuestDB's own /exp speed for a
million rows, while QuestDB sends the same rows in binary over this port in a fraction of /exp's time. So
exports read the DataRow messages as bytes and pgwire_rows.py turns whole blocks of them into Arrow columns
with numpy. asyncpg stays for small answers (POST /query, health). The connection belongs to one statement
and is closed after it; a statement cut short (a client gone, a timeout) is also cancelled on the server
with a CancelRequest, so QuestDB stops reading at once instead of when its next write to us fails.
"""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote, urlsplit

import anyio
import numpy as np
from anyio.abc import SocketStream

from adapters.questdb.pgwire_rows import scan_rows

PROTOCOL_3: Final = 196_608
CANCEL_CODE: Final = 80_877_102
RECEIVE_BYTES: Final = 1 << 20
BLOCK_BYTES: Final = 4 << 20
_READY: Final = b"Z\0\0\0\x05"  # ReadyForQuery, before its status byte
_HEADER: Final = struct.Struct("!cI")
_INT: Final = struct.Struct("!I")


class WireError(Exception):
    """An ErrorResponse of the server: its message (`M`) and its other fields by code."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(fields.get("M", "the server reported an error"))
        self.fields = fields


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type_oid: int


@dataclass(frozen=True, slots=True)
class Rows:
    """Complete DataRow messages: `block` holds them back to back, `starts` where each begins."""

    block: bytes
    starts: np.ndarray


class PgWire:
    """One connection for one statement: `describe`, then `execute` streams its rows, then `aclose`."""

    def __init__(self, stream: SocketStream, host: str, port: int) -> None:
        self._stream = stream
        self._host, self._port = host, port
        self._buffer = bytearray()
        self._key: tuple[int, int] | None = None
        self._idle = True  # False while a statement may still be running on the server

    @classmethod
    async def connect(cls, dsn: str) -> PgWire:
        parts = urlsplit(dsn)
        host, port = parts.hostname or "127.0.0.1", parts.port or 8812
        user, password = unquote(parts.username or ""), unquote(parts.password or "")
        database = parts.path.lstrip("/") or "qdb"
        wire = cls(await anyio.connect_tcp(host, port), host, port)
        try:
            await wire._start(user, password, database)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await wire._stream.aclose()
            raise
        return wire

    async def _start(self, user: str, password: str, database: str) -> None:
        options = b"".join(_cstring(text) for text in ("user", user, "database", database)) + b"\0"
        body = _INT.pack(PROTOCOL_3) + options
        await self._stream.send(_INT.pack(len(body) + 4) + body)
        while True:
            kind, payload = await self._message()
            if kind == b"R":
                await self._authenticate(_INT.unpack_from(payload)[0], password)
            elif kind == b"K":
                self._key = struct.unpack("!II", payload)
            elif kind == b"Z":
                return

    async def _authenticate(self, code: int, password: str) -> None:
        if code == 0:
            return
        if code == 3:  # a clear-text password: what QuestDB asks for
            await self._stream.send(_message(b"p", _cstring(password)))
        else:
            raise WireError({"M": f"the server asks for an authentication this client does not speak ({code})"})

    async def describe(self, sql: str) -> list[Field] | None:
        """The statement's result columns, or None when it answers no rows. Nothing runs yet."""
        await self._stream.send(
            _message(b"P", b"\0" + _cstring(sql) + b"\0\0") + _message(b"D", b"S\0") + _message(b"S", b"")
        )
        fields: list[Field] | None = None
        failure: WireError | None = None
        while True:
            kind, payload = await self._message()
            if kind == b"T":
                fields = _fields(payload)
            elif kind == b"E":
                failure = WireError(_error_fields(payload))
            elif kind == b"Z":
                if failure is not None:
                    raise failure
                return fields

    async def execute(self, formats: list[int]) -> AsyncIterator[Rows]:
        """Runs the described statement with these result formats (0 text, 1 binary per column)."""
        # unnamed portal and statement, no parameter formats, no parameters, then the result formats
        bind = b"\0\0" + b"\0\0" + b"\0\0" + struct.pack(f"!H{len(formats)}H", len(formats), *formats)
        self._idle = False
        await self._stream.send(
            _message(b"B", bind) + _message(b"E", b"\0\0\0\0\0") + _message(b"S", b"")
        )
        failure: WireError | None = None
        while True:
            # Rows are cut into blocks of about BLOCK_BYTES; the answer is whole once ReadyForQuery ends it.
            if len(self._buffer) < BLOCK_BYTES and self._buffer[-6:-1] != _READY:
                self._buffer += await self._receive()
                continue
            starts, end = scan_rows(self._buffer)
            if end:
                block = bytes(self._buffer[:end])
                del self._buffer[:end]
                yield Rows(block, starts)
                continue
            if self._buffer[:1] == b"D":  # one row larger than a block: wait for the rest of it
                self._buffer += await self._receive()
                continue
            kind, payload = await self._message()
            if kind == b"E":
                failure = WireError(_error_fields(payload))
            elif kind == b"Z":
                self._idle = True
                if failure is not None:
                    raise failure
                return

    async def _message(self) -> tuple[bytes, bytes]:
        """The next whole message other than a notice or a parameter change (they mean nothing here)."""
        while True:
            if len(self._buffer) >= 5:
                kind, length = _HEADER.unpack_from(self._buffer)
                if len(self._buffer) >= 1 + length:
                    payload = bytes(self._buffer[5 : 1 + length])
                    del self._buffer[: 1 + length]
                    if kind not in (b"N", b"S"):
                        return kind, payload
                    continue
            self._buffer += await self._receive()

    async def _receive(self) -> bytes:
        try:
            return await self._stream.receive(RECEIVE_BYTES)
        except anyio.EndOfStream:
            raise ConnectionResetError("QuestDB closed the connection mid-answer") from None

    async def aclose(self) -> None:
        """Closes the connection; a statement still running is cancelled on the server first. QuestDB closes a
        cancel request's connection once it has applied it, and that close is awaited (a second at most), so
        the cancel cannot reach a later connection the server gave the same key. The statement may not look at
        the cancel for a while (a plain projection never does); the closed socket stops it at its next send."""
        with anyio.CancelScope(shield=True):
            if not self._idle and self._key is not None:
                with anyio.move_on_after(1.0):
                    await self._cancel(*self._key)
            await self._stream.aclose()

    async def _cancel(self, pid: int, secret: int) -> None:
        try:
            async with await anyio.connect_tcp(self._host, self._port) as other:
                await other.send(struct.pack("!IIII", 16, CANCEL_CODE, pid, secret))
                while await other.receive():
                    pass  # the server answers nothing; it closes the connection once the cancel is applied
        except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
            pass  # applied (the server closed the connection), or unreachable: the closed socket stops it too


def _message(kind: bytes, body: bytes) -> bytes:
    return kind + _INT.pack(len(body) + 4) + body


def _cstring(text: str) -> bytes:
    return text.encode() + b"\0"


def _fields(payload: bytes) -> list[Field]:
    (count,) = struct.unpack_from("!H", payload)
    position, fields = 2, []
    for _ in range(count):
        end = payload.index(b"\0", position)
        name = payload[position:end].decode("utf-8", "replace")
        (type_oid,) = struct.unpack_from("!I", payload, end + 7)
        fields.append(Field(name, type_oid))
        position = end + 19
    return fields


def _error_fields(payload: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    for item in payload.split(b"\0"):
        if item:
            fields[chr(item[0])] = item[1:].decode("utf-8", "replace")
    return fields
