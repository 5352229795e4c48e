"""`client.measurements`, `client.auth`, `client.maintenance`, `client.events` and the SQL operations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from stage1_client._core import Call, Namespace, Op, compact, decode, operation, page
from stage1_client.frames import As, frame_from_stream
from stage1_client.models import Event, Measurement, Page, Token


class Measurements(Namespace):
    @operation
    def list(self, *, prefix: str | None = None) -> Op[Page[Measurement]]:
        reply = yield Call("GET", "/api/questdb/measurements", params=compact(prefix=prefix))
        return page(reply, "measurements", Measurement)

    @operation
    def get(self, name: str, *, sample: int | None = None) -> Op[Measurement]:
        reply = yield Call("GET", f"/api/questdb/measurement/{name}", params=compact(sample=sample))
        return decode(reply, Measurement)

    @operation
    def delete(self, name: str) -> Op[dict[str, Any]]:
        """Drop a measurement that no record owns (409 naming the owner otherwise)."""
        return dict((yield Call("DELETE", f"/api/questdb/measurement/{name}")).json() or {})


class Auth(Namespace):
    @operation
    def create_token(self, secret: str, name: str, *, ttl_days: int | None = None) -> Op[Token]:
        """Issue a token against the server's shared secret; the answer is the only time it is shown."""
        body = compact(secret=secret, name=name, ttl_days=ttl_days)
        return decode((yield Call("POST", "/api/auth/token", json=body)), Token)

    @operation
    def tokens(
        self, *, limit: int | None = None, offset: int | None = None, after: str | None = None
    ) -> Op[Page[Token]]:
        params = compact(limit=limit, offset=offset, after=after)
        return page((yield Call("GET", "/api/auth/tokens", params=params)), "tokens", Token)

    @operation
    def revoke(self, token_id: str) -> Op[dict[str, Any]]:
        return dict((yield Call("DELETE", f"/api/auth/tokens/{token_id}")).json() or {})


class Maintenance(Namespace):
    @operation
    def orphans(self) -> Op[dict[str, Any]]:
        """Measurements no record owns, records whose measurement is missing, users' free tables."""
        return dict((yield Call("GET", "/api/maintenance/orphans")).json() or {})


class Events(Namespace):
    def stream(
        self,
        *,
        dataset: Any = None,
        types: Sequence[str] | None = None,
        last_event_id: str | int | None = None,
    ) -> Any:
        """Iterate over the live event feed (`run.created`, `job.updated`, ...); a dropped connection is
        resumed from the last event seen (`Last-Event-ID`), so no event is lost. Sync: an iterator;
        async: an async iterator."""
        name = None if dataset is None else getattr(dataset, "dataset_slug", dataset)
        call = Call("GET", "/api/events", params=compact(dataset=name, types=types))
        return self._owner._events(call, None if last_event_id is None else str(last_event_id))


def parse_event(event_id: str | None, event_type: str, data: str) -> Event:
    try:
        payload: Any = msgspec.json.decode(data) if data else None
    except msgspec.DecodeError:
        payload = data
    return Event(id=event_id or None, type=event_type, data=payload)


def sql_call(query: str, timeout: float | None) -> Call:
    """The read-only SQL export as an Arrow stream (it is a POST that writes nothing, so no key is needed)."""
    body = compact(sql=query, format="arrow", timeout=timeout)
    return Call("POST", "/api/questdb/export", json=body, idempotency_key="", large=True)


def sql(query: str, as_: As, timeout: float | None, time_columns: Sequence[str]) -> Op[Any]:
    reply = yield sql_call(query, timeout)
    return frame_from_stream(reply.content, as_, time_columns)


def query_json(query: str, limit: int | None, timeout: float | None) -> Op[dict[str, Any]]:
    body = compact(sql=query, limit=limit, timeout=timeout)
    return dict((yield Call("POST", "/api/questdb/query", json=body, idempotency_key="")).json() or {})
