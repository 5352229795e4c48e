"""`GET /api/events`: Server-Sent Events of jobs, datasets, runs and simulations, resumable."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any, Final, TypeVar

import msgspec
from litestar import Request, Router, get
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Schema
from litestar.params import Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from application.ports import Event
from domain.datasets import Dataset
from domain.errors import InvalidInput
from domain.events import EventType
from entrypoints.http.errors import error_responses
from entrypoints.http.openapi_extras import described
from entrypoints.http.use_cases import StreamingUseCase, UseCase

EVENT_TYPES = frozenset(t.value for t in EventType)
# An idle stream gets a comment line this often, so proxies with a 60 s read timeout keep it open.
KEEPALIVE_SECONDS = 15.0
T = TypeVar("T")


async def with_keepalive(source: AsyncIterator[T], seconds: float) -> AsyncIterator[T | None]:
    """`source`'s items, and None whenever `seconds` pass without one. The pending read is kept across
    the pauses (cancelling it would close the source)."""
    pending: asyncio.Future[T] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(source))
            done, _ = await asyncio.wait({pending}, timeout=seconds)
            if not done:
                yield None
                continue
            finished, pending = pending, None
            try:
                item = finished.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        closer = getattr(source, "aclose", None)
        if closer is not None:
            await closer()


def _types(value: str | None) -> set[str] | None:
    if not value:
        return None
    wanted = {part.strip() for part in value.split(",") if part.strip()}
    unknown = sorted(wanted - EVENT_TYPES)
    if unknown:
        raise InvalidInput(
            "unknown event types", {"field": "types", "unknown": unknown, "allowed": sorted(EVENT_TYPES)}
        )
    return wanted


def event_id(value: str | None, label: str, where: dict[str, str]) -> int | None:
    """A resume position sent as text (a header, a WebSocket query), or None when blank."""
    if value is None or not value.strip():
        return None
    try:
        parsed = int(value.strip())
    except ValueError as exc:
        raise InvalidInput(f"{label} must be an event id", where) from exc
    if not 0 <= parsed < 2**63:
        raise InvalidInput(f"{label} is out of range", where)
    return parsed


def _last_event_id(header: str | None, query: int | None) -> int | None:
    resume = event_id(header, "Last-Event-ID", {"header": "Last-Event-ID"})
    return query if resume is None else resume


EVENT: Final = Schema(
    type=OpenAPIType.OBJECT,
    description="One Server-Sent Event; `data` is the JSON of the job, dataset, run or simulation.",
    properties={
        "event": Schema(type=OpenAPIType.STRING, enum=sorted(EVENT_TYPES)),
        "data": Schema(type=OpenAPIType.STRING),
        "id": Schema(type=OpenAPIType.STRING),
        "retry": Schema(type=OpenAPIType.INTEGER),
    },
)


@get(
    "/api/events",
    summary="Server-Sent Events; reconnect with Last-Event-ID to resume",
    tags=["events"],
    opt=described(ok={"200": {"text/event-stream": OpenAPIMediaType(schema=EVENT)}}),
    responses=error_responses(404),
)
async def events(
    request: Request[Any, Any, Any],
    follow_events: StreamingUseCase[Event],
    get_dataset: UseCase[Dataset],
    types: Annotated[
        str | None,
        Parameter(max_length=200, required=False, description="Comma-separated event types to receive; default all."),
    ] = None,
    last_event_id: Annotated[
        int | None,
        Parameter(
            ge=0,
            le=2**63 - 1,
            required=False,
            description="Resume after this event id (the Last-Event-ID header wins when both are sent).",
        ),
    ] = None,
    dataset: Annotated[
        str | None,
        Parameter(
            max_length=200,
            required=False,
            description="Only events about this dataset (id or slug), its runs, simulations and jobs.",
        ),
    ] = None,
) -> ServerSentEvent:
    wanted = _types(types)
    resume = _last_event_id(request.headers.get("last-event-id"), last_event_id)
    # Resolved before the stream starts, so an unknown dataset is a 404, not an empty stream.
    about = None if dataset is None else await get_dataset(dataset)

    async def stream() -> AsyncIterator[ServerSentEventMessage]:
        async for event in with_keepalive(aiter(follow_events(wanted, resume, about)), KEEPALIVE_SECONDS):
            if event is None:
                yield ServerSentEventMessage(comment="keepalive")
                continue
            # A live-only event (job progress) has no id of its own: the client's Last-Event-ID stays put.
            ident = str(event.id) if event.kept else None
            yield ServerSentEventMessage(data=msgspec.json.encode(event.data).decode(), event=event.type, id=ident)

    return ServerSentEvent(stream(), retry_duration=2000, headers={"Cache-Control": "no-store"})


router = Router(path="/", route_handlers=[events])
