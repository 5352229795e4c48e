"""The project's own errors. Every layer raises these; each entrypoint decides what they mean on its wire."""

from __future__ import annotations

from typing import Any


class Stage1Error(Exception):
    """Base of every error the service answers with its own envelope."""

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(Stage1Error):
    """The caller sent something malformed; `details` names the field, line or columns."""


class Unauthorized(Stage1Error):
    """No token, or one that is unknown, expired or revoked."""


class Forbidden(Stage1Error):
    """The request is understood but not allowed, e.g. a write through the read-only SQL."""


class NotFound(Stage1Error):
    """An id or name that does not exist."""


class Conflict(Stage1Error):
    """The request clashes with the stored state: unknown parent, slug or id clash."""


class UnsupportedFormat(Stage1Error):
    """A frame in a format the service does not read (raised by the frame readers)."""


class UpstreamError(Stage1Error):
    """The time-series store answered with an error; its message goes out verbatim."""


class StoreUnavailable(Stage1Error):
    """A backing store cannot be reached."""


class NoRoom(Stage1Error):
    """The server has no room left to keep what was sent: its disk (or its file-size limit) is full."""


class StoreTimeout(Stage1Error):
    """A time-series query ran past its timeout."""


class Refused(Conflict):
    """A conflict no retry can change: what was sent does not fit the record it would touch."""


class InvalidTransition(Conflict):
    """A state machine was asked for a move it does not allow."""
