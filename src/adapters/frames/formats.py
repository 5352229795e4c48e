"""The stream formats a client may ask for, by `?format=` or by `Accept`, and their media types (every
media type of a frame the service reads or writes is named here, once)."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from domain.errors import InvalidInput


class MediaType(StrEnum):
    """The media types of the frames the service reads (uploads) and writes (streams)."""

    CSV = "text/csv"
    JSON = "application/json"
    NDJSON = "application/x-ndjson"
    ARROW_STREAM = "application/vnd.apache.arrow.stream"
    ARROW_FILE = "application/vnd.apache.arrow.file"
    PARQUET = "application/vnd.apache.parquet"
    GZIP = "application/gzip"


class OutputFormat(StrEnum):
    CSV = "csv"
    JSON = "json"
    NDJSON = "ndjson"
    ARROW = "arrow"
    PARQUET = "parquet"


MEDIA_TYPES: Final[dict[OutputFormat, str]] = {
    # Litestar adds "; charset=utf-8" to every text/ type itself; naming it here too sent it twice.
    OutputFormat.CSV: MediaType.CSV,
    OutputFormat.JSON: MediaType.JSON,
    OutputFormat.NDJSON: MediaType.NDJSON,
    OutputFormat.ARROW: MediaType.ARROW_STREAM,
    OutputFormat.PARQUET: MediaType.PARQUET,
}

_ACCEPTED: Final[dict[str, OutputFormat]] = {
    **{media: fmt for fmt, media in MEDIA_TYPES.items()},
    "application/csv": OutputFormat.CSV,
    "application/ndjson": OutputFormat.NDJSON,
    "application/jsonl": OutputFormat.NDJSON,
}

def negotiate(
    format_param: str | None, accept_header: str | None, default: OutputFormat | str = OutputFormat.CSV
) -> OutputFormat:
    """The stream format: `?format=` wins, else the best `Accept` match, else `default`.

    An unknown `format` is a 400; an `Accept` naming nothing we speak falls back to the default, since
    the contract has no 406.
    """
    if format_param is not None and format_param.strip():
        return output_format(format_param)
    fallback = OutputFormat(default)
    best: tuple[float, int, int] | None = None
    chosen = fallback
    for order, media_range in enumerate((accept_header or "").split(",")):
        media, quality = _media_range(media_range)
        if media is None or quality <= 0:
            continue
        if media in _ACCEPTED:
            fmt, specific = _ACCEPTED[media], 1
        elif media == "*/*" or (media == "text/*" and fallback is OutputFormat.CSV):
            fmt, specific = fallback, 0
        elif media == "text/*":
            fmt, specific = OutputFormat.CSV, 0
        else:
            continue
        rank = (quality, specific, -order)
        if best is None or rank > best:
            best, chosen = rank, fmt
    return chosen


def output_format(value: str) -> OutputFormat:
    """A `format` value as an OutputFormat; anything else is a 400 listing the allowed ones."""
    try:
        return OutputFormat(value.strip().lower())
    except ValueError:
        allowed = [fmt.value for fmt in OutputFormat]
        raise InvalidInput(
            f"format must be one of {', '.join(allowed)}",
            {"field": "format", "value": value[:40], "allowed": allowed},
        ) from None


def _media_range(text: str) -> tuple[str | None, float]:
    media, *params = (part.strip() for part in text.split(";"))
    if not media:
        return None, 0.0
    quality = 1.0
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                quality = float(value.strip())
            except ValueError:
                quality = 0.0
    return media.lower(), quality
