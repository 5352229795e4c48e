"""API tokens: shown once, stored only as a hash, valid until they expire or are revoked."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from uuid import UUID

from domain.errors import InvalidInput

TOKEN_PREFIX: Final = "s1_"
MAX_TTL_DAYS: Final = 3650
# Writing `last_used_at` on every request would make each read a write; once a minute is enough to tell.
LAST_USED_RESOLUTION: Final = timedelta(minutes=1)


@dataclass(slots=True)
class ApiToken:
    token_id: UUID
    name: str
    token_hash: str
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Tokens carry 256 random bits, so a fast hash is as safe as a slow one and keeps auth cheap."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_for(session_token: str) -> str:
    """The CSRF value of a browser session: derived from it, so it needs no storage, and showing it to page
    scripts (it sits in a readable cookie) reveals nothing of the session itself."""
    return hashlib.sha256(b"stage1-csrf:" + session_token.encode("utf-8")).hexdigest()


def secret_matches(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def expiry(now: datetime, ttl_days: int) -> datetime:
    if not 1 <= ttl_days <= MAX_TTL_DAYS:
        raise InvalidInput(f"ttl_days must be between 1 and {MAX_TTL_DAYS}", {"field": "ttl_days"})
    return now + timedelta(days=ttl_days)


def validate_token_name(name: str) -> str:
    cleaned = name.strip()
    if not 1 <= len(cleaned) <= 128 or not cleaned.isprintable():
        raise InvalidInput("name must be 1 to 128 printable characters", {"field": "name"})
    return cleaned
