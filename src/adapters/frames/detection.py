"""Which upload format a body is in: magic bytes first, then what the client declared."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from adapters.frames.formats import MediaType
from domain.errors import InvalidInput, UnsupportedFormat

HEAD_BYTES: Final = 4096


class UploadFormat(StrEnum):
    CSV = "csv"
    CSV_GZIP = "csv_gzip"
    PARQUET = "parquet"
    ARROW_FILE = "arrow_file"
    ARROW_STREAM = "arrow_stream"


_MAGIC: Final = (
    (b"\x1f\x8b", UploadFormat.CSV_GZIP),
    (b"PAR1", UploadFormat.PARQUET),
    (b"ARROW1", UploadFormat.ARROW_FILE),
    # Every IPC stream message since Arrow 0.15 starts with this continuation marker.
    (b"\xff\xff\xff\xff", UploadFormat.ARROW_STREAM),
)

# Formats people send by mistake, named so the 415 can say what arrived.
_KNOWN_OTHERS: Final = (
    (b"PK\x03\x04", "zip (xlsx, docx and ods files are zip archives)"),
    (b"\x89PNG", "png image"),
    (b"\xff\xd8\xff", "jpeg image"),
    (b"GIF8", "gif image"),
    (b"%PDF", "pdf document"),
    (b"\xd0\xcf\x11\xe0", "ole2 (legacy xls/doc)"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)

_BY_CONTENT_TYPE: Final = {
    MediaType.CSV: UploadFormat.CSV,
    "application/csv": UploadFormat.CSV,
    "text/x-csv": UploadFormat.CSV,
    "application/x-csv": UploadFormat.CSV,
    "text/comma-separated-values": UploadFormat.CSV,
    "text/plain": UploadFormat.CSV,
    # Browsers on Windows label .csv files this way.
    "application/vnd.ms-excel": UploadFormat.CSV,
    MediaType.GZIP: UploadFormat.CSV_GZIP,
    "application/x-gzip": UploadFormat.CSV_GZIP,
    MediaType.PARQUET: UploadFormat.PARQUET,
    "application/x-parquet": UploadFormat.PARQUET,
    "application/parquet": UploadFormat.PARQUET,
    MediaType.ARROW_FILE: UploadFormat.ARROW_FILE,
    MediaType.ARROW_STREAM: UploadFormat.ARROW_STREAM,
}

_BY_EXTENSION: Final = {
    ".csv": UploadFormat.CSV,
    ".txt": UploadFormat.CSV,
    ".csv.gz": UploadFormat.CSV_GZIP,
    ".gz": UploadFormat.CSV_GZIP,
    ".parquet": UploadFormat.PARQUET,
    ".pq": UploadFormat.PARQUET,
    ".arrow": UploadFormat.ARROW_FILE,
    ".feather": UploadFormat.ARROW_FILE,
    ".arrows": UploadFormat.ARROW_STREAM,
}

# Declared types that are text but not CSV: reading them as CSV would only produce confusing 400s.
_UNSUPPORTED_TEXT_TYPES: Final = ("application/json", "application/xml", "text/xml", "text/html")
_UNSUPPORTED_EXTENSIONS: Final = (".json", ".xml", ".html", ".xlsx", ".xls", ".ods", ".zip")

# Bytes that never occur in CSV text: C0 controls other than tab, newlines, form feed and escape.
_BINARY_BYTES: Final = bytes([*range(0x00, 0x09), *range(0x0E, 0x1B), *range(0x1C, 0x20)])


def detect_format(head: bytes, content_type: str | None = None, filename: str | None = None) -> UploadFormat:
    """The format of an upload from its first bytes; the declared type only decides what magic cannot.

    Empty input is a 400; anything that is neither one of the formats nor text is a 415.
    """
    if not head:
        raise InvalidInput("the upload is empty", {"bytes": 0})
    for magic, fmt in _MAGIC:
        if head.startswith(magic):
            return fmt
    media = _media_type(content_type)
    extension = _extension(filename)
    declared = _BY_CONTENT_TYPE.get(media or "") or _BY_EXTENSION.get(extension or "")
    # Only the file's own name: the reader may pass the spooled path, which is no business of the client's.
    shown = filename.replace("\\", "/").rsplit("/", 1)[-1] if filename else None
    details = {"content_type": content_type, "filename": shown}
    if _looks_like_text(head):
        if media in _UNSUPPORTED_TEXT_TYPES or extension in _UNSUPPORTED_EXTENSIONS:
            raise UnsupportedFormat(
                "uploads are CSV, CSV.gz, Parquet or Arrow IPC; this is declared as something else",
                details,
            )
        return UploadFormat.CSV
    if declared is UploadFormat.ARROW_STREAM:
        # Streams written before Arrow 0.15 start with the metadata length instead of the marker.
        return UploadFormat.ARROW_STREAM
    found = next((name for magic, name in _KNOWN_OTHERS if head.startswith(magic)), "unknown binary data")
    raise UnsupportedFormat(
        f"uploads are CSV, CSV.gz, Parquet or Arrow IPC; this looks like {found}",
        {**details, "detected": found},
    )


def _media_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def _extension(filename: str | None) -> str | None:
    if not filename:
        return None
    lowered = filename.lower()
    for extension in sorted((*_BY_EXTENSION, *_UNSUPPORTED_EXTENSIONS), key=len, reverse=True):
        if lowered.endswith(extension):
            return extension
    return None


def _looks_like_text(head: bytes) -> bool:
    sample = head[:HEAD_BYTES]
    return len(sample.translate(None, _BINARY_BYTES)) == len(sample)
