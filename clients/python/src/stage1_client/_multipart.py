"""multipart/form-data bodies written by the client itself, so a frame's Arrow buffers go out as they are.

httpx wants each file as one `bytes` object: a frame of a million rows would be copied into one first. Here
the body is a list of parts (the small headers as bytes, the frame as its IPC buffers) with its length known
up front (`Content-Length`, no chunked framing), sent in slices of at most `SLICE` bytes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

Chunk = bytes | memoryview
# Each slice is copied once more on its way to the socket (h11 joins what it frames): keep that copy small.
SLICE = 1 << 20


def _quoted(value: str) -> str:
    """A header parameter as httpx writes it: quotes, backslashes and line breaks percent-encoded."""
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def form_parts(boundary: str, data: Mapping[str, str] | None, files: Mapping[str, tuple[str, Any, str]]) -> list[Chunk]:
    """The parts of the body: each field, then each file (bytes, or a sequence of buffers sent in order)."""
    parts: list[Chunk] = []
    for name, value in (data or {}).items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{_quoted(name)}"\r\n\r\n'
        parts.append(head.encode() + value.encode() + b"\r\n")
    for name, (filename, content, content_type) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{_quoted(name)}"; '
            f'filename="{_quoted(filename)}"\r\nContent-Type: {content_type}\r\n\r\n'
        )
        parts.append(head.encode())
        buffers: Sequence[Any] = (content,) if isinstance(content, bytes | bytearray | memoryview) else content
        parts.extend(memoryview(buffer).cast("B") for buffer in buffers)
        parts.append(b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return parts


def size(parts: Iterable[Chunk]) -> int:
    return sum(part.nbytes if isinstance(part, memoryview) else len(part) for part in parts)


def slices(parts: Iterable[Chunk]) -> Iterator[Chunk]:
    for part in parts:
        if len(part) <= SLICE:
            yield part
            continue
        view = memoryview(part)
        for start in range(0, view.nbytes, SLICE):
            yield view[start : start + SLICE]
