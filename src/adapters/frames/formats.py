"""The stream formats a client may ask for, by `?format=` or by `Accept`, and their media types."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from domain.errors import InvalidInput


class OutputFormat(StrEnum):
    CSV = "csv"
    JSON = "json"
    NDJSON = "ndjson"
    ARROW = "arrow"
    PARQUET = "parquet"


MEDIA_TYPES: Final[dict[OutputFormat, str]] = {
    # Litestar adds "; charset=utf-8" to every text/ type itself; naming it here too sent it twice.
    OutputFormat.CSV: "text/csv",
    OutputFormat.JSON: "application/json",
    OutputFormat.NDJSON: "application/x-ndjson",
    OutputFormat.ARROW: "application/vnd.apache.arrow.stream",
    OutputFormat.PARQUET: "application/vnd.apache.parquet",
}

_ACCEPTED: Final[dict[str, OutputFormat]] = {
    "text/csv": OutputFormat.CSV,
    "application/csv": OutputFormat.CSV,
    "application/json": OutputFormat.JSON,
    "application/x-ndjson": OutputFormat.NDJSON,
    "application/ndjson": OutputFormat.NDJSON,
    "application/jsonl": OutputFormat.NDJSON,
    "application/vnd.apache.arrow.stream": OutputFormat.ARROW,
    "application/vnd.apache.parquet": OutputFormat.PARQUET,
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
