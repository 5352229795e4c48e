"""Driver errors translated into the domain's own, so the HTTP edge maps them to one status each."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import exc as sa_exc

from domain.errors import Conflict, InvalidInput, StoreTimeout, StoreUnavailable

# SQLSTATE classes: 08 connection, 53 resources, 57 operator intervention (shutdown, cancel), 40 rollback
# (serialization failure, deadlock: worth a retry, so "unavailable" rather than a client error).
_UNAVAILABLE_STATES = ("08", "53", "57P", "40")
_CANCELLED = "57014"
_UNDEFINED_TABLE = "42P01"
_NO_SCHEMA = "the metadata schema is missing or out of date: run `stage1 migrate up`"


def _sqlstate(error: sa_exc.DBAPIError) -> str | None:
    original = error.orig
    for attribute in ("sqlstate", "pgcode"):
        value = getattr(original, attribute, None)
        if isinstance(value, str):
            return value
    # SQLAlchemy's asyncpg adapter wraps the driver error; the real one sits behind `__cause__`.
    cause = getattr(original, "__cause__", None)
    value = getattr(cause, "sqlstate", None)
    return value if isinstance(value, str) else None


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def translate(error: BaseException) -> BaseException:
    """The domain error for a driver error; anything unexpected is returned unchanged."""
    state = _sqlstate(error) if isinstance(error, sa_exc.DBAPIError) else None
    # The asyncpg adapter raises the generic DBAPIError for some classes, so the SQLSTATE decides too.
    if isinstance(error, sa_exc.IntegrityError) or (state or "").startswith("23"):
        return Conflict("the change clashes with stored metadata", {"reason": _first_line(error)})
    if isinstance(error, sa_exc.DBAPIError):
        if state == _CANCELLED:
            return StoreTimeout("the metadata store cancelled a statement that ran too long")
        if state == _UNDEFINED_TABLE or "no such table" in _first_line(error):
            return StoreUnavailable(_NO_SCHEMA, {"reason": _first_line(error)})
        if isinstance(error, sa_exc.DataError) or (state or "").startswith("22"):
            return InvalidInput("a value does not fit the metadata store", {"reason": _first_line(error)})
        if (
            isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError)
            or error.connection_invalidated
            or (state is not None and state.startswith(_UNAVAILABLE_STATES))
        ):
            return StoreUnavailable("the metadata store is unavailable", {"reason": _first_line(error)})
        return error
    if isinstance(error, sa_exc.TimeoutError):
        return StoreUnavailable("no metadata store connection became free in time")
    if isinstance(error, OSError):  # refused, reset, unreachable, and connect timeouts
        return StoreUnavailable("the metadata store is unreachable", {"reason": _first_line(error)})
    return error


@asynccontextmanager
async def translated() -> AsyncIterator[None]:
    """Run a block and re-raise driver errors as domain errors."""
    try:
        yield
    except (sa_exc.SQLAlchemyError, OSError) as error:
        mapped = translate(error)
        if mapped is error:
            raise
        raise mapped from error
