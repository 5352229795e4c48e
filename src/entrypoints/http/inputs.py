"""Turning request pieces (bodies, headers, query strings) into validated values."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from litestar import Request

from application.idempotency import IdempotencyKey
from domain.errors import InvalidInput
from domain.values import coerce_timestamp
from entrypoints.http.errors import UnsupportedMediaType

COLUMN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,126}")
MAX_KEY_LENGTH = 200
# Times travel as int64 epoch nanoseconds through every store (about 1677 to 2262); beyond that a bound
# cannot be a real bar time, and passing it on makes the store fail instead of the client hear why.
NANOS_RANGE = range(-(2**63) + 1, 2**63)


def media_type(request: Request[Any, Any, Any]) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def is_json(request: Request[Any, Any, Any]) -> bool:
    kind = media_type(request)
    return kind in ("application/json", "") or kind.endswith("+json")


def is_multipart(request: Request[Any, Any, Any]) -> bool:
    return media_type(request) == "multipart/form-data"


def require_json_or_multipart(request: Request[Any, Any, Any]) -> None:
    if not (is_json(request) or is_multipart(request)):
        raise UnsupportedMediaType(
            f"send application/json or multipart/form-data, not {media_type(request)}",
            {"content_type": media_type(request)},
        )


def idempotency_key(request: Request[Any, Any, Any], scope: str, body_hash: str) -> IdempotencyKey | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters", {"header": "Idempotency-Key"}
        )
    return IdempotencyKey(key, scope, body_hash)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def time_param(value: str | None, name: str) -> int | None:
    """`from` / `to`: epoch (unit by magnitude, seconds as the contract shows) or ISO-8601."""
    if value is None or value == "":
        return None
    try:
        nanos = coerce_timestamp(value)
    except InvalidInput as exc:
        raise InvalidInput(f"{name} must be epoch seconds or ISO-8601", {"field": name}) from exc
    except (OverflowError, ValueError) as exc:
        raise InvalidInput(f"{name} is out of range", {"field": name}) from exc
    if nanos not in NANOS_RANGE:
        raise InvalidInput(f"{name} is out of range (years 1677 to 2262)", {"field": name})
    return nanos


def columns_param(value: str | None, field: str = "columns") -> list[str] | None:
    if value is None or not value.strip():
        return None
    names = [part.strip() for part in value.split(",") if part.strip()]
    bad = [name[:40] for name in names if COLUMN.fullmatch(name) is None]
    if bad or len(names) > 1000:
        raise InvalidInput(
            f"{field} must be a comma-separated list of column names", {"field": field, "invalid": bad}
        )
    return names
