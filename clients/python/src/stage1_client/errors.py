"""Typed exceptions for every answer >= 400, carrying the service's envelope `{"error", "details"}`."""

from __future__ import annotations

from typing import Any

import msgspec


class Stage1Error(Exception):
    """Base of every error the client raises. `status` is the HTTP status (0 for a network failure)."""

    status: int = 0

    def __init__(
        self, message: str, details: Any = None, *, status: int | None = None, retry_after: float | None = None
    ):
        super().__init__(message)
        self.error = message
        self.details = details
        self.retry_after = retry_after
        if status is not None:
            self.status = status

    def __str__(self) -> str:
        head = f"{self.status} {self.error}" if self.status else self.error
        return f"{head} — {self.details}" if self.details not in (None, {}, []) else head


class InvalidInput(Stage1Error):
    """400: the details say which field, line, row or columns."""

    status = 400

    def _detail(self, key: str) -> Any:
        return self.details.get(key) if isinstance(self.details, dict) else None

    @property
    def line(self) -> int | None:
        """The 1-based line of a text upload that was refused, when the server named one."""
        value = self._detail("line")
        return int(value) if isinstance(value, int) else None

    @property
    def row(self) -> int | None:
        value = self._detail("row")
        return int(value) if isinstance(value, int) else None

    @property
    def column(self) -> str | None:
        value = self._detail("column")
        return str(value) if value is not None else None

    @property
    def field(self) -> str | None:
        value = self._detail("field")
        return str(value) if value is not None else None


class Unauthorized(Stage1Error):
    status = 401


class Forbidden(Stage1Error):
    status = 403


class NotFound(Stage1Error):
    status = 404


class Conflict(Stage1Error):
    status = 409


class PayloadTooLarge(Stage1Error):
    status = 413


class UnsupportedFormat(Stage1Error):
    status = 415


class RateLimited(Stage1Error):
    """429; `retry_after` holds the server's `Retry-After` in seconds."""

    status = 429


class ServerError(Stage1Error):
    """5xx: the service or a store behind it failed; not the caller's mistake."""

    status = 500


class UpstreamError(ServerError):
    """502: QuestDB answered with an error (relayed in `details["questdb"]`)."""

    status = 502


class ServiceUnavailable(ServerError):
    """503: a backing store is unreachable (retried by the client before it is raised)."""

    status = 503


class GatewayTimeout(ServerError):
    status = 504


class InsufficientStorage(ServerError):
    status = 507


class ConnectionFailed(Stage1Error):
    """The network failed on every attempt (connection refused, dropped, timed out)."""


class JobFailed(Stage1Error):
    """A job the client waited for ended FAILED or CANCELLED; `details` is the job."""


BY_STATUS: dict[int, type[Stage1Error]] = {
    cls.status: cls
    for cls in (
        InvalidInput,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PayloadTooLarge,
        UnsupportedFormat,
        RateLimited,
        UpstreamError,
        ServiceUnavailable,
        GatewayTimeout,
        InsufficientStorage,
    )
}


def error_for(status: int, body: bytes, headers: dict[str, str]) -> Stage1Error:
    """The typed exception for an error answer; a body that is not the envelope still yields one."""
    message, details = f"HTTP {status}", None
    try:
        envelope = msgspec.json.decode(body)
        if isinstance(envelope, dict) and "error" in envelope:
            message, details = str(envelope["error"]), envelope.get("details")
    except msgspec.DecodeError:
        if body:
            message = body[:300].decode("utf-8", errors="replace")
    cls = BY_STATUS.get(status) or (ServerError if status >= 500 else Stage1Error)
    return cls(message, details, status=status, retry_after=_seconds(headers.get("retry-after")))


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare enough that the backoff's own delay stands in
