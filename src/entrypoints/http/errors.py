"""One table maps every error to a status, and every error leaves as `{"error", "details"}`."""

from __future__ import annotations

import errno
import logging
import os
from typing import Any, Final

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from application.idempotency import KeyReused
from domain import errors
from entrypoints.http.schemas.common import ErrorBody
from entrypoints.http.security_headers import HEADERS as SECURITY_HEADERS

log = logging.getLogger("stage1.http")



class PayloadTooLarge(errors.Stage1Error):
    """The request body is larger than the configured limit."""


class UnsupportedMediaType(errors.Stage1Error):
    """A body in a media type the route does not take."""


STATUS_BY_ERROR: Final[dict[type[errors.Stage1Error], int]] = {
    errors.InvalidInput: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    errors.UnsupportedFormat: 415,
    errors.UpstreamError: 502,
    errors.StoreUnavailable: 503,
    errors.StoreTimeout: 504,
    errors.NoRoom: 507,
}


# What each status means on this API; the OpenAPI document describes every error answer with it.
MEANINGS: Final[dict[int, str]] = {
    400: "Bad input; `details` names the field, line or columns.",
    401: "No token, or an unknown, expired or revoked one.",
    403: "Understood but not allowed.",
    404: "Unknown id or name.",
    408: "The body stopped arriving: no bytes for longer than the idle limit.",
    409: "Clashes with the stored state: unknown parent, slug or id clash, or an Idempotency-Key reused "
    "for a different request.",
    413: "The body is larger than the configured upload limit.",
    415: "An upload in a format the service does not read.",
    429: "Rate limited; `Retry-After` says how many seconds to wait.",
    502: "The time-series store answered with an error, relayed in `details`.",
    503: "A backing store is unreachable.",
    504: "A time-series query ran past its timeout.",
    507: "The server has no room left to spool or write the upload; nothing of it was kept.",
}

WRITE_ERRORS: Final = (409, 415, 502, 504)  # a write: a clash, an unread format, the time-series store failing
STORE_ERRORS: Final = (502, 504)  # a read of the time-series store


def error_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """A handler's own error statuses for its `responses=`; those of every route (auth, rate limit, bad input,
    a body too large, a store down) are added to the document for all routes alike."""
    return {status: ResponseSpec(ErrorBody, description=MEANINGS[status]) for status in statuses}


# The application words an error its own way; on the wire it names the header the client sent.
WIRE_WORDING: Final[dict[type[errors.Stage1Error], tuple[str, Any]]] = {
    KeyReused: ("Idempotency-Key was already used for a different request", {"header": "Idempotency-Key"}),
}


def status_for(error: errors.Stage1Error) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def envelope(status: int, message: str, details: Any = None, headers: dict[str, str] | None = None) -> Response[Any]:
    # An error raised inside a middleware is answered outside it, so the envelope brings its own headers.
    return Response(
        {"error": message, "details": details},
        status_code=status,
        media_type=MediaType.JSON,
        headers={**SECURITY_HEADERS, **(headers or {})},
    )


def stage1_error_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, errors.Stage1Error)
    headers = {"WWW-Authenticate": 'Bearer realm="stage1"'} if isinstance(exc, errors.Unauthorized) else None
    message, details = WIRE_WORDING.get(type(exc), (exc.message, exc.details))
    return envelope(status_for(exc), message, details, headers)


def http_error_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Litestar's own errors (validation, unknown route, wrong method, body too large) in our envelope."""
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    if status == 422:  # the contract never answers 422
        status = 400
    details: Any = exc.extra if exc.extra else None
    message = str(exc.detail)
    if isinstance(exc, ValidationException):
        message = _validation_message(exc)
    headers = dict(exc.headers) if exc.headers else {}
    if status == 429:
        headers.setdefault("Retry-After", headers.get("RateLimit-Reset", "60"))
    return envelope(status, message, details, headers or None)


def too_deep_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Client data nested deeper than Python can walk (JSON, filters) is the client's mistake, not ours."""
    return envelope(400, "the input is nested too deeply", None)


# A full disk (ENOSPC), a full quota (EDQUOT) or a file-size limit (EFBIG): the client may send again later.
NO_ROOM_ERRNOS: Final = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def os_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A write that found no room is the server's state, not a crash; the spool has deleted its files."""
    assert isinstance(exc, OSError)
    if exc.errno in NO_ROOM_ERRNOS:
        reason = os.strerror(exc.errno) if exc.errno is not None else str(exc)
        log.warning("no room to write on %s %s: %s", request.method, request.url.path, reason)
        full = errors.NoRoom("the server has no room left to keep the upload", {"reason": reason})
        return stage1_error_handler(request, full)
    return unexpected_error_handler(request, exc)


def unexpected_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return envelope(HTTP_500_INTERNAL_SERVER_ERROR, "internal error", None)


def _validation_message(exc: ValidationException) -> str:
    extra = exc.extra
    if isinstance(extra, list) and extra and isinstance(extra[0], dict):
        first = extra[0]
        key = first.get("key")
        message = first.get("message", "invalid value")
        return f"invalid {key}: {message}" if key else f"invalid request: {message}"
    return str(exc.detail) or "invalid request"


EXCEPTION_HANDLERS: Final = {
    errors.Stage1Error: stage1_error_handler,
    HTTPException: http_error_handler,
    RecursionError: too_deep_handler,
    OSError: os_error_handler,
    Exception: unexpected_error_handler,
}
