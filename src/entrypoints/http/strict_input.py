"""Strict input without breaking old clients, once for every route.

A query parameter the route does not declare is a 400: a typo such as `ordr_by` must never silently answer
everything. The names a route knows are read once, at start-up, from what Litestar itself parsed of each
handler (its parameters, their `Parameter(query=...)` aliases and those of its dependencies), so there is no
second list to keep in step.

A JSON body field the route does not know is ignored, as it always was (desktops post their structs
verbatim), and named in `Stage1-Ignored-Fields`; with `STAGE1_STRICT_BODIES=true` it is a 400 instead.
Fields the service itself returns for that resource (`links`, `created_at`, ...) are ignored silently."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote

import msgspec
from litestar import Litestar, Request
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ParamType, ScopeType
from litestar.handlers import BaseRouteHandler
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from domain.errors import InvalidInput

T = TypeVar("T")
IGNORED_HEADER = "Stage1-Ignored-Fields"
MAX_NAMED = 50
# The API is checked. Pages and files a browser or a scraper loads (the dashboard at `/`, `/ui`, `/vendor`,
# `/static`, the `/schema` documents, `/metrics`) read no parameter of ours and may carry cache-busting ones.
CHECKED_PREFIXES = ("/api/", "/healthz")


@dataclass(slots=True)
class _BodyCheck:
    strict: bool
    ignored: list[str] = field(default_factory=list)


_CURRENT: ContextVar[_BodyCheck | None] = ContextVar("stage1_body_check", default=None)


@dataclass(slots=True)
class StrictInput:
    """Holds the query names of every handler; `learn` fills it once the app has its routes."""

    strict_bodies: bool
    query_names: dict[BaseRouteHandler, frozenset[str] | None] = field(default_factory=dict)
    # Query parameters that take one value: sent twice, which one counts would be a guess.
    single_names: dict[BaseRouteHandler, frozenset[str]] = field(default_factory=dict)
    # Handlers that let Litestar decode their body (`data: SomeStruct`) rather than calling `decode` themselves.
    data_structs: dict[BaseRouteHandler, type[msgspec.Struct]] = field(default_factory=dict)

    def learn(self, app: Litestar) -> Litestar:
        for route in app.routes:
            if not isinstance(route, HTTPRoute):
                continue
            for method, (handler, kwargs_model) in route.route_handler_map.items():
                takes_any = "query" in kwargs_model.expected_reserved_kwargs
                exempt = takes_any or method == "OPTIONS" or not route.path.startswith(CHECKED_PREFIXES)
                names = frozenset(
                    p.field_alias for p in kwargs_model.expected_query_params if p.param_type is ParamType.QUERY
                )
                self.query_names[handler] = None if exempt else names
                self.single_names[handler] = frozenset(
                    p.field_alias
                    for p in kwargs_model.expected_query_params
                    if p.param_type is ParamType.QUERY and not p.is_sequence
                )
                data = handler.parsed_fn_signature.parameters.get("data")
                kind = None if data is None else data.annotation
                if isinstance(kind, type) and issubclass(kind, msgspec.Struct):
                    self.data_structs[handler] = kind
        return app

    def middleware(self, app: ASGIApp) -> ASGIApp:
        async def check(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            self._check_query(scope)
            body = _BodyCheck(self.strict_bodies)
            token = _CURRENT.set(body)

            async def send_naming_ignored(message: Message) -> None:
                if message["type"] == "http.response.start" and body.ignored:
                    MutableScopeHeaders.from_message(message)[IGNORED_HEADER] = header_value(body.ignored)
                await send(message)

            try:
                await app(scope, receive, send_naming_ignored)
            finally:
                _CURRENT.reset(token)

        return check

    async def before_request(self, request: Request[Any, Any, Any]) -> None:
        """A `data:` body is decoded here first, as `decode` does: Litestar converts leniently (`0` for `false`)
        and words its errors its own way, while a body must mean what its schema says. The body is cached, so
        it is read once; Litestar's own decoding then only ever sees a body that passed."""
        kind = self.data_structs.get(request.route_handler)
        if kind is not None:
            decode(await request.body(), kind)

    def _check_query(self, scope: Scope) -> None:
        known = self.query_names.get(scope["route_handler"], None)
        raw = scope.get("query_string", b"")
        if known is None or not raw:
            return
        names = [name for name, _ in parse_qsl(raw.decode("latin-1"), keep_blank_values=True)]
        sent = dict.fromkeys(names)
        unknown = [name for name in sent if name not in known]
        if unknown:
            raise InvalidInput(
                f"unknown query parameter(s): {', '.join(unknown)}",
                {"unknown_parameters": unknown, "known_parameters": sorted(known)},
            )
        single = self.single_names.get(scope["route_handler"], frozenset())
        repeated = [name for name in sent if name in single and names.count(name) > 1]
        if repeated:
            raise InvalidInput(
                f"query parameter(s) sent more than once: {', '.join(repeated)}", {"repeated_parameters": repeated}
            )


def header_value(names: list[str]) -> str:
    """Names are the client's own keys: any of them may hold a comma, a line break or a character a header
    cannot carry, so all but token characters are percent-encoded; a flood of them is cut short."""
    shown = [quote(name, safe="!#$&'*+-.^_`|~") for name in names[:MAX_NAMED]]
    return ",".join(shown + (["..."] if len(names) > MAX_NAMED else []))


def decode(data: bytes | str, kind: type[T], what: str = "body") -> T:
    """JSON into a wire struct; a wrong type or a missing field is a 400 naming the path, and a field the
    struct does not know is named in `Stage1-Ignored-Fields` (a 400 under `STAGE1_STRICT_BODIES`)."""
    try:
        value = msgspec.json.decode(data, type=kind)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"invalid {what}: {exc}", {"part": what, "reason": str(exc)}) from exc
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"{what} is not valid JSON: {exc}", {"part": what}) from exc
    except RecursionError as exc:  # msgspec refuses nesting deeper than the interpreter's stack allows
        raise InvalidInput(f"{what} is nested too deeply", {"part": what}) from exc
    check_fields(data, kind)
    return value


def check_fields(data: bytes | str, kind: type[Any]) -> None:
    """After `kind` was decoded from `data`: name (or, when strict, refuse) the top-level fields it dropped."""
    body = _CURRENT.get()
    if body is None or not (isinstance(kind, type) and issubclass(kind, msgspec.Struct)):
        return
    if kind.__struct_config__.forbid_unknown_fields:
        return
    # Values stay raw: only the keys are read, so a large inline frame is not built a second time.
    try:
        sent = msgspec.json.decode(data, type=dict[str, msgspec.Raw])
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return  # not an object: the decoding proper answers why
    known = _known(kind)
    unknown = [name for name in sent if name not in known and name not in _returned(kind)]
    if not unknown:
        return
    if body.strict:
        raise InvalidInput(f"unknown field(s): {', '.join(unknown)}", {"unknown_fields": unknown})
    body.ignored.extend(name for name in unknown if name not in body.ignored)


@cache
def _known(kind: type[msgspec.Struct]) -> frozenset[str]:
    return frozenset(f.encode_name for f in msgspec.structs.fields(kind))


@cache
def _returned(kind: type[msgspec.Struct]) -> frozenset[str]:
    """Fields of the answers that describe the same resource: the `...Out` structs (and their subclasses)
    defined next to `kind`, which is what a client that echoes a GET back sends along."""
    module = sys.modules[kind.__module__]
    answers = [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, msgspec.Struct) and any(base.__name__.endswith("Out") for base in cls.__mro__)
    ]
    return frozenset(_names(answers))


def _names(kinds: Iterable[type[msgspec.Struct]]) -> Iterable[str]:
    for kind in kinds:
        yield from (f.encode_name for f in msgspec.structs.fields(kind))
