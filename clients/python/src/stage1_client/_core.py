"""The transport-agnostic core: an operation is a generator that yields what it needs (a `Call` to send,
a `Sleep`) and receives the `Reply`; the sync and async drivers in `_drivers` run the same generators.
So every client method is written once, and retries, idempotency keys and error mapping live in one place."""

from __future__ import annotations

import functools
import random
import uuid
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

import httpx
import msgspec
from tenacity import RetryCallState, retry_if_exception, stop_after_attempt

from stage1_client import _multipart as multipart
from stage1_client._multipart import Chunk
from stage1_client.errors import RateLimited, ServiceUnavailable, Stage1Error
from stage1_client.models import Page

T = TypeVar("T")
S = TypeVar("S")
P = ParamSpec("P")

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Call:
    """One HTTP exchange. Built once per logical call and sent as is on every retry, so a write keeps
    its `Idempotency-Key` across retries and the server applies it once."""

    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json: Any = None
    # Bytes, or a factory of chunks (a file read lazily) that is called again on every attempt.
    content: bytes | Callable[[], Iterator[Chunk]] | None = None
    # Multipart files: (file name, bytes or a sequence of buffers sent in order, content type).
    files: Mapping[str, tuple[str, Any, str]] | None = None
    data: Mapping[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    idempotency_key: str | None = None
    read_timeout: float | None = None
    # A large answer (an Arrow stream): read into one buffer as it arrives, so copying it overlaps the wait
    # for the server's next bytes instead of following the last one (`Response.content` joins at the end).
    large: bool = False

    boundary: str = field(default_factory=lambda: f"stage1-{uuid.uuid4().hex}")

    def __post_init__(self) -> None:
        if self.method in WRITE_METHODS and self.idempotency_key is None:
            object.__setattr__(self, "idempotency_key", uuid.uuid4().hex)

    @functools.cached_property
    def _form(self) -> list[Chunk]:
        assert self.files
        return multipart.form_parts(self.boundary, self.data, self.files)

    def body(self) -> bytes | Iterator[Chunk] | None:
        """What this attempt sends: multipart rendered from `data` and `files`, or `content`."""
        if self.files:
            return multipart.slices(self._form)
        return self.content() if callable(self.content) else self.content

    def request_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.files:
            # A fixed boundary: a retry must send the very same bytes, or the server sees the reused
            # Idempotency-Key on a different request (409).
            headers["Content-Type"] = f"multipart/form-data; boundary={self.boundary}"
            headers["Content-Length"] = str(multipart.size(self._form))
        if self.idempotency_key:
            headers["Idempotency-Key"] = self.idempotency_key
        return headers

    def query(self) -> dict[str, str]:
        return {k: wire_value(v) for k, v in (self.params or {}).items() if v is not None}


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Reply:
    status: int
    headers: httpx.Headers
    content: bytes | bytearray  # a bytearray for a `large` call, filled as it arrived

    def json(self) -> Any:
        return msgspec.json.decode(self.content) if self.content else None


Op = Generator[Call | Sleep, Reply, T]
# What a driver sends back into an operation after a Sleep.
SLEPT = Reply(0, httpx.Headers(), b"")


def wire_value(value: Any) -> str:
    """Query values as the service reads them: booleans lower-case, lists comma-joined, times ISO-8601."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(wire_value(v) for v in value)
    if hasattr(value, "isoformat"):  # pandas.Timestamp, numpy datetime64 wrapped by pandas
        return str(value.isoformat())
    return str(value)


def operation(fn: Callable[Concatenate[S, P], Op[T]]) -> Callable[Concatenate[S, P], T]:
    """Turn a generator method into a client method: the owner's driver runs it (the sync driver returns
    the value, the async driver a coroutine)."""

    def method(self: S, *args: P.args, **kwargs: P.kwargs) -> T:
        runner: Callable[[Op[T]], T] = self._run  # type: ignore[attr-defined]
        return runner(fn(self, *args, **kwargs))

    return functools.update_wrapper(method, fn)  # type: ignore[return-value]


class Namespace:
    """A group of methods (`client.datasets`, `client.runs`, ...) sharing the owner's driver."""

    def __init__(self, owner: Any) -> None:
        self._owner = owner
        self._run: Callable[[Op[Any]], Any] = owner._run


# ---------------------------------------------------------------- retries (one policy for both drivers)


def is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, httpx.TransportError | RateLimited | ServiceUnavailable)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter; a `Retry-After` from the server wins (capped at `max_wait`)."""

    retries: int = 5
    backoff: float = 0.25
    max_wait: float = 30.0

    def wait(self, state: RetryCallState) -> float:
        exc: BaseException | None = state.outcome.exception() if state.outcome else None
        if isinstance(exc, Stage1Error) and exc.retry_after is not None:
            return float(min(exc.retry_after, self.max_wait))
        base = min(self.max_wait, self.backoff * 2.0 ** (state.attempt_number - 1))
        return base * (0.5 + random.random() / 2)

    def tenacity_kwargs(self) -> dict[str, Any]:
        return {
            "stop": stop_after_attempt(self.retries + 1),
            "wait": self.wait,
            "retry": retry_if_exception(is_retryable),
            "reraise": True,
        }


# ---------------------------------------------------------------- answers


def decode(reply: Reply, type_: type[T]) -> T:
    return msgspec.json.decode(reply.content, type=type_)


def page(reply: Reply, plural: str, type_: type[T]) -> Page[T]:
    raw = reply.json() or {}
    return Page(
        items=msgspec.convert(raw.get(plural) or [], list[type_]),  # type: ignore[valid-type]
        total=raw.get("total"),
        limit=raw.get("limit"),
        offset=raw.get("offset"),
        next_cursor=raw.get("next_cursor"),
    )


def ref(value: Any, *attributes: str) -> str:
    """An id or slug given as text, or taken from a record (a Dataset, Run, Simulation, Job, saved result)."""
    if isinstance(value, str):
        return value
    for name in attributes:
        found = getattr(value, name, None)
        if isinstance(found, str):
            return found
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"expected an id, not {type(value).__name__}")


def compact(**fields: Any) -> dict[str, Any]:
    """Only the fields the caller set: the service reads an absent field as "leave as is"."""
    return {k: v for k, v in fields.items() if v is not None}


def to_builtins(value: Any) -> Any:
    return msgspec.to_builtins(value)
