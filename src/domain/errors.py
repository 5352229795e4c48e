"""The project's own errors. Every layer raises these; the HTTP edge maps each class to one status."""

from __future__ import annotations

from typing import Any


class Stage1Error(Exception):
    """Base of every error the service answers with its own envelope."""

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(Stage1Error):
    """The client sent something malformed (400); `details` names the field, line or columns."""


class Unauthorized(Stage1Error):
    """No token, or one that is unknown, expired or revoked (401)."""


class Forbidden(Stage1Error):
    """The request is understood but not allowed, e.g. a write on the read-only SQL route (403)."""


class NotFound(Stage1Error):
    """An id or name that does not exist (404)."""


class Conflict(Stage1Error):
    """The request clashes with the stored state: unknown parent, slug or id clash (409)."""


class PayloadTooLarge(Stage1Error):
    """The body is larger than the configured limit (413)."""


class UnsupportedFormat(Stage1Error):
    """An upload in a format the service does not read (415)."""


class RateLimited(Stage1Error):
    """Too many requests (429)."""


class UpstreamError(Stage1Error):
    """The time-series store answered with an error; its message goes out verbatim (502)."""


class StoreUnavailable(Stage1Error):
    """A backing store cannot be reached (503)."""


class StoreTimeout(Stage1Error):
    """A time-series query ran past its timeout (504)."""


class InvalidTransition(Conflict):
    """A state machine was asked for a move it does not allow (409)."""
