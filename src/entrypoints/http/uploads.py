"""Every form a frame can arrive in (multipart part, raw body, JSON string, JSON rows) is spooled to a
temp file under the upload folder; the spool deletes its files on every path unless a job took them."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit

import anyio
import multipart
import pyarrow.ipc as ipc
from litestar import Request

from adapters.frames.arriving import Arrival, register, release
from adapters.frames.formats import MediaType
from adapters.frames.readers import read_json_rows
from adapters.frames.spool_files import create_held, let_go
from adapters.remote.url_fetch import fetch
from application.series_ports import FrameUpload
from domain.errors import InvalidInput
from domain.frames import FrameKind
from domain.remote_sources import FetchPolicy, shown
from entrypoints.http.errors import PayloadTooLarge
from entrypoints.settings import Settings

T = TypeVar("T")
Receive = Callable[[], Awaitable[None]]

# Parts that carry JSON (metadata, run, simulation) stay in memory; they are small by nature.
MAX_FIELD_BYTES = 8 * 1024 * 1024
CHUNK = 1024 * 1024


@dataclass(slots=True)
class SpooledPart:
    name: str
    filename: str | None
    content_type: str | None
    path: Path | None = None
    data: bytes | None = None
    size: int = 0

    def upload(self) -> FrameUpload:
        assert self.path is not None
        return FrameUpload(str(self.path))

    def text(self) -> str:
        """The part as UTF-8 text; other bytes are the client's mistake, never silently replaced."""
        raw = self.data if self.data is not None else self.path.read_bytes() if self.path is not None else b""
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                f"part {self.name!r} is not UTF-8 text (byte {exc.start})", {"part": self.name, "byte": exc.start}
            ) from exc


@dataclass(slots=True)
class UploadSpool:
    """Owns the temp files of one request."""

    root: Path
    max_bytes: int
    _files: list[Path] = field(default_factory=list)
    _kept: set[Path] = field(default_factory=set)
    _holders: list[int] = field(default_factory=list)
    _arriving: list[Path] = field(default_factory=list)
    hashing: bool = True
    _digest: Any = field(default_factory=hashlib.sha256)
    _received: int = 0
    # The hosts a route that takes `*_url` fields may fetch from; None where URLs are not taken.
    fetch: FetchPolicy | None = None

    @classmethod
    def for_request(
        cls, request: Request[Any, Any, Any], root: Path, max_bytes: int, fetch: FetchPolicy | None = None
    ) -> UploadSpool:
        """Hashing a large body costs real time; only a request that may be replayed needs its hash."""
        return cls(root, max_bytes, hashing="idempotency-key" in request.headers, fetch=fetch)

    @classmethod
    def fetching(cls, request: Request[Any, Any, Any], settings: Settings) -> UploadSpool:
        """A spool for a request whose body may name a URL to fetch (from the allowed hosts only)."""
        fetch = FetchPolicy.of(settings.fetch_allowed_hosts)
        return cls.for_request(request, settings.uploads, settings.max_upload_bytes, fetch)

    async def __aenter__(self) -> Self:
        self.root.mkdir(parents=True, exist_ok=True)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.discard()

    def discard(self) -> None:
        for path in self._arriving:
            release(path)
        self._arriving.clear()
        for path in self._files:
            if path not in self._kept:
                path.unlink(missing_ok=True)
        self._files.clear()
        # Kept files are named by their job from here on; until now the lock kept a sweep away from them.
        for holder in self._holders:
            let_go(holder)
        self._holders.clear()

    def keep(self, upload: FrameUpload) -> None:
        """A job now owns this file and deletes it when it finishes."""
        self._kept.add(Path(upload.path))

    @property
    def request_hash(self) -> str:
        return str(self._digest.hexdigest()) if self.hashing else ""

    def digest(self, data: bytes) -> None:
        if self.hashing:
            self._digest.update(data)

    def _new_file(self, suffix: str) -> tuple[Path, Any]:
        path, handle, holder = create_held(self.root, suffix)
        self._files.append(path)
        self._holders.append(holder)
        return path, os.fdopen(handle, "wb")

    def _count(self, size: int) -> None:
        self._received += size
        if self._received > self.max_bytes:
            raise PayloadTooLarge(
                f"the upload is larger than the limit of {self.max_bytes} bytes", {"limit_bytes": self.max_bytes}
            )

    async def body(self, request: Request[Any, Any, Any], name: str) -> SpooledPart:
        """A raw request body (CSV, CSV.gz, Parquet or Arrow IPC) to a file."""
        path, handle = self._new_file(".upload")
        return await self._receive(request, name, path, handle, None)

    def arriving_body(self, request: Request[Any, Any, Any], name: str) -> tuple[SpooledPart, Receive]:
        """The file a raw body will be spooled to, and the call that receives it. The file is registered as
        arriving from now until the body is in (adapters/frames/arriving.py), so it can be read while it is
        written; leaving the spool ends that on every path."""
        path, handle = self._new_file(".upload")
        arrival = register(path)
        self._arriving.append(path)

        async def receive() -> None:
            try:
                await self._receive(request, name, path, handle, arrival)
            except BaseException as exc:
                arrival.finish(exc)
                raise
            arrival.finish()

        return SpooledPart(name, None, request.headers.get("content-type"), path), receive

    async def _receive(
        self, request: Request[Any, Any, Any], name: str, path: Path, handle: Any, arrival: Arrival | None
    ) -> SpooledPart:
        size = 0
        with handle:
            async for chunk in _chunks(request):
                self._count(len(chunk))
                self.digest(chunk)
                handle.write(chunk)
                size += len(chunk)
                if arrival is not None:
                    handle.flush()  # a reader of the arriving file reads the file, not this buffer
                    arrival.grew(len(chunk))
        if size == 0:
            raise InvalidInput("the request body is empty", {"field": name})
        return SpooledPart(name, None, request.headers.get("content-type"), path, size=size)

    async def multipart(self, request: Request[Any, Any, Any], file_fields: set[str]) -> dict[str, SpooledPart]:
        """Stream a multipart body: file parts to disk, other parts to memory."""
        content_type = request.headers.get("content-type", "")
        _, options = multipart.parse_options_header(content_type)
        boundary = options.get("boundary")
        if not boundary:
            raise InvalidInput("multipart/form-data needs a boundary", {"header": "content-type"})
        parts: dict[str, SpooledPart] = {}
        current: SpooledPart | None = None
        handle: Any = None
        buffer = bytearray()
        stream = aiter(_chunks(request))
        try:
            with multipart.PushMultipartParser(boundary, max_header_count=16, strict=False) as parser:
                async for chunk in stream:
                    self._count(len(chunk))
                    self.digest(chunk)
                    for event in parser.parse(chunk):
                        if isinstance(event, multipart.MultipartSegment):
                            current = SpooledPart(event.name, event.filename, event.content_type)
                            if event.name in parts:
                                raise InvalidInput(f"part {event.name!r} was sent twice", {"part": event.name})
                            if event.filename is not None or event.name in file_fields:
                                current.path, handle = self._new_file(_suffix(event.filename))
                            buffer.clear()
                        elif event is None:
                            assert current is not None
                            if handle is not None:
                                handle.close()
                                handle = None
                                assert current.path is not None
                                current.size = current.path.stat().st_size
                            else:
                                current.data = bytes(buffer)
                                current.size = len(buffer)
                            parts[current.name] = current
                            current = None
                        else:
                            if handle is not None:
                                handle.write(event)
                            else:
                                buffer.extend(event)
                                if len(buffer) > MAX_FIELD_BYTES:
                                    raise PayloadTooLarge("a form field is larger than 8 MiB")
                if not parser.closed:
                    parser.parse(b"")
        except multipart.MultipartError as exc:
            raise InvalidInput(f"malformed multipart body: {exc}", {"header": "content-type"}) from exc
        finally:
            if handle is not None:
                handle.close()
        return parts

    async def url_file(self, url: str, name: str) -> FrameUpload:
        """The file at `url`, fetched by the server and streamed to the spool under the upload size limit."""
        if self.fetch is None:
            raise InvalidInput(f"{name} is not taken on this route", {"field": name})
        path, handle = self._new_file(_suffix(urlsplit(url).path))
        size = 0
        with handle:
            async for chunk in fetch(url, name, self.fetch):
                self._count(len(chunk))
                handle.write(chunk)
                size += len(chunk)
        if size == 0:
            raise InvalidInput(f"{name}: {shown(url)} answered an empty body", {"field": name, "url": shown(url)})
        return FrameUpload(str(path))

    def text_file(self, text: str, name: str) -> SpooledPart:
        """A CSV sent as a JSON string (`data`, `ohlcv_csv`, `predictions_csv`, ...)."""
        data = text.encode("utf-8")
        if not data.strip():
            raise InvalidInput(f"{name} is empty", {"field": name})
        path, handle = self._new_file(".csv")
        with handle:
            handle.write(data)
        return SpooledPart(name, None, MediaType.CSV, path, size=len(data))

    async def rows_file(self, rows: list[dict[str, Any]], name: str, kind: FrameKind) -> SpooledPart:
        """Rows sent as a JSON array of objects, checked like a file and kept as an Arrow file."""
        if not rows:
            raise InvalidInput(f"{name} is an empty array", {"field": name})
        table = await anyio.to_thread.run_sync(read_json_rows, rows, kind)
        path, handle = self._new_file(".arrow")
        with handle, ipc.new_file(handle, table.schema) as writer:
            writer.write_table(table)
        return SpooledPart(name, None, "application/vnd.apache.arrow.file", path, size=path.stat().st_size)


async def _chunks(request: Request[Any, Any, Any]) -> AsyncIterator[bytes]:
    pending = bytearray()
    async for chunk in request.stream():
        pending.extend(chunk)
        if len(pending) >= CHUNK:
            yield bytes(pending)
            pending.clear()
    if pending:
        yield bytes(pending)


def _suffix(filename: str | None) -> str:
    """Keep a harmless extension for format detection; never a path from the client."""
    if not filename:
        return ".upload"
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].lower()
    for ext in (".csv.gz", ".csv", ".gz", ".parquet", ".arrow", ".feather", ".ipc", ".arrows"):
        if name.endswith(ext):
            return ext
    return ".upload"


async def record_with_frame(
    request: Request[Any, Any, Any],
    spool: UploadSpool,
    record: type[T],
    head_part: str,
    frame: str,
    kind: FrameKind,
) -> tuple[T, FrameUpload | None, str]:
    """A record (run, simulation) and its optional frame, in any of the forms the contract allows:
    JSON with the rows inline (`<frame>` array or `<frame>_csv` text), or multipart with a `<head_part>`
    JSON part next to a `<frame>` file part. Answers the record, the spooled frame and the request hash."""
    from entrypoints.http.inputs import is_multipart, require_json_or_multipart, sha256
    from entrypoints.http.strict_input import decode

    require_json_or_multipart(request)
    if is_multipart(request):
        parts = await spool.multipart(request, {frame})
        if head_part not in parts:
            raise InvalidInput(f"a multipart upload needs a `{head_part}` JSON part", {"missing_parts": [head_part]})
        body = decode(parts[head_part].text(), record, f"{head_part} part")
        part = parts.get(frame)
        return body, None if part is None or part.path is None else part.upload(), spool.request_hash
    raw = await request.body()
    body = decode(raw, record)
    return body, await _inline_frame(spool, body, frame, kind), sha256(raw)


async def _inline_frame(spool: UploadSpool, body: Any, frame: str, kind: FrameKind) -> FrameUpload | None:
    """The frame a JSON body carries as a `<frame>` array of rows or as `<frame>_csv` text."""
    rows, text = getattr(body, frame), getattr(body, f"{frame}_csv")
    if rows is not None and text is not None:
        raise InvalidInput(f"send {frame} or {frame}_csv, not both", {"field": frame})
    if rows:
        return (await spool.rows_file(rows, frame, kind)).upload()
    if text is not None:
        return spool.text_file(text, f"{frame}_csv").upload()
    return None


async def frame_only(
    request: Request[Any, Any, Any], spool: UploadSpool, record: type[Any], frame: str, kind: FrameKind
) -> tuple[FrameUpload, str]:
    """A frame with no record around it (rows appended to one that exists): JSON as on create (`record`
    holds `<frame>` and `<frame>_csv`), a multipart `<frame>` file part, or the raw CSV/Parquet/Arrow body.
    Answers the spooled frame and the request hash; a request without the frame is a 400."""
    from entrypoints.http.inputs import is_json, is_multipart, media_type, sha256
    from entrypoints.http.strict_input import decode

    upload: FrameUpload | None
    if is_multipart(request):
        part = (await spool.multipart(request, {frame})).get(frame)
        upload, digest = (None if part is None or part.path is None else part.upload()), spool.request_hash
    elif is_json(request) and media_type(request) != "":  # as an import: no content type is a raw body
        raw = await request.body()
        upload, digest = await _inline_frame(spool, decode(raw, record), frame, kind), sha256(raw)
    else:
        upload, digest = (await spool.body(request, frame)).upload(), spool.request_hash
    if upload is None:
        raise InvalidInput(f"send {frame} rows: {frame}, {frame}_csv or a {frame} file part", {"field": frame})
    return upload, digest
