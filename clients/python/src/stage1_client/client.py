"""`Client` (sync) and `AsyncClient`: the same methods, run by two small drivers over the shared operations.

from stage1_client import Client
stage1 = Client()                        # STAGE1_URL / STAGE1_TOKEN, or what `stage1 login` saved
bars = stage1.datasets.bars("btc_1h", "2024-01-01", "2024-02-01")
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import httpx
from httpx_sse import aconnect_sse, connect_sse
from tenacity import AsyncRetrying, Retrying

from stage1_client import large_reads, store
from stage1_client._core import SLEPT, Call, Op, Reply, RetryPolicy, Sleep, operation
from stage1_client._multipart import Chunk
from stage1_client.config import resolve
from stage1_client.datasets import Datasets
from stage1_client.errors import ConnectionFailed, Stage1Error, error_for
from stage1_client.frames import As
from stage1_client.jobs import Imports, Jobs
from stage1_client.models import Event
from stage1_client.runs import Runs
from stage1_client.simulations import Simulations

T = TypeVar("T")
VERSION = "0.1.0"
# The event feed sends a comment every 15 s; four missed ones mean the connection is gone.
EVENTS_READ_TIMEOUT = 60.0


class _Stage1:
    """What both clients share: settings, the namespaces and the top-level operations."""

    datasets: Datasets
    runs: Runs
    simulations: Simulations
    imports: Imports
    jobs: Jobs
    events: store.Events
    measurements: store.Measurements
    auth: store.Auth
    maintenance: store.Maintenance

    def _setup(self, url: str | None, token: str | None, retries: int, backoff: float) -> dict[str, str]:
        settings = resolve(url, token)
        self.url = settings.url
        self._policy = RetryPolicy(retries=retries, backoff=backoff)
        self.datasets = Datasets(self)
        self.runs = Runs(self)
        self.simulations = Simulations(self)
        self.imports = Imports(self)
        self.jobs = Jobs(self)
        self.events = store.Events(self)
        self.measurements = store.Measurements(self)
        self.auth = store.Auth(self)
        self.maintenance = store.Maintenance(self)
        headers = {"User-Agent": f"stage1-client/{VERSION}"}
        if settings.token:
            headers["X-Stage1-Token"] = settings.token
        return headers

    def _run(self, op: Op[T]) -> Any:
        raise NotImplementedError

    @staticmethod
    def _timeout(timeout: float) -> httpx.Timeout:
        return httpx.Timeout(timeout, connect=min(timeout, 10.0))

    @operation
    def sql(
        self, query: str, *, as_: As = "pandas", timeout: float | None = None, time_columns: Sequence[str] = ()
    ) -> Op[Any]:
        """A read-only statement (SELECT, WITH, SHOW, EXPLAIN) on the time-series store, as a frame read over
        Arrow. Columns named `timestamp`, `ts` or `*_timestamp` (and those in `time_columns`) come back as UTC
        timestamps; anything but a read is refused (Forbidden)."""
        return (yield from store.sql(query, as_, timeout, time_columns))

    @operation
    def query(self, sql: str, *, limit: int | None = None, timeout: float | None = None) -> Op[dict[str, Any]]:
        """The same statement as JSON `{"columns", "rows", "count"}`, for small answers."""
        return (yield from store.query_json(sql, limit, timeout))

    @operation
    def health(self) -> Op[dict[str, Any]]:
        return dict((yield Call("GET", "/api/health")).json() or {})

    @operation
    def metrics(self) -> Op[str]:
        """The Prometheus text of the server."""
        return (yield Call("GET", "/metrics")).content.decode("utf-8")

    @staticmethod
    def _request(call: Call, content: Any) -> dict[str, Any]:
        """httpx's arguments for one attempt; `content` is the body (`call.body()`, multipart included)."""
        kwargs: dict[str, Any] = {"params": call.query(), "headers": call.request_headers()}
        data = None if call.files else call.data
        for name, value in (("json", call.json), ("data", data), ("content", content)):
            if value is not None:
                kwargs[name] = value
        if call.read_timeout is not None:
            kwargs["timeout"] = httpx.Timeout(call.read_timeout, connect=10.0)
        return kwargs

    @staticmethod
    def _reply(response: httpx.Response, content: bytearray | None = None) -> Reply:
        """The answer, or its typed error; `content` is a body read as it arrived (a `large` call)."""
        if response.status_code >= 400:
            raise error_for(response.status_code, response.content, dict(response.headers))
        return Reply(response.status_code, response.headers, response.content if content is None else content)


class Client(_Stage1):
    """The Stage1 client. `url` and `token` default to STAGE1_URL / STAGE1_TOKEN, then the `stage1 login`
    config. Writes carry an Idempotency-Key and are retried on network errors, 429 and 503."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 300.0,
        retries: int = 5,
        backoff: float = 0.25,
        verify: bool | str = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = self._setup(url, token, retries, backoff)
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=self._timeout(timeout), verify=verify, transport=transport
        )
        if transport is None:
            large_reads.install(self._http)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, call: Call) -> Reply:
        try:
            for attempt in Retrying(**self._policy.tenacity_kwargs()):
                with attempt:
                    if call.large:
                        with self._http.stream(call.method, call.path, **self._request(call, call.body())) as answer:
                            if answer.status_code >= 400:
                                answer.read()
                                return self._reply(answer)
                            return self._reply(answer, _filled(answer.iter_bytes()))
                    return self._reply(self._http.request(call.method, call.path, **self._request(call, call.body())))
        except httpx.TransportError as exc:
            raise ConnectionFailed(f"{call.method} {call.path}: {exc!r}") from exc
        raise AssertionError("unreachable: tenacity re-raises the last error")

    def _run(self, op: Op[T]) -> T:
        try:
            step = next(op)
            while True:
                if isinstance(step, Sleep):
                    time.sleep(step.seconds)
                    step = op.send(SLEPT)
                    continue
                try:
                    reply = self._send(step)
                except Stage1Error as exc:
                    step = op.throw(exc)
                else:
                    step = op.send(reply)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def _events(self, call: Call, last_id: str | None) -> Iterator[Event]:
        failures = 0
        while True:
            headers = call.request_headers() | ({"Last-Event-ID": last_id} if last_id else {})
            try:
                with connect_sse(
                    self._http,
                    "GET",
                    call.path,
                    params=call.query(),
                    headers=headers,
                    timeout=httpx.Timeout(EVENTS_READ_TIMEOUT, connect=10.0),
                ) as source:
                    if source.response.status_code >= 400:
                        source.response.read()
                        self._reply(source.response)
                    failures = 0
                    for sse in source.iter_sse():
                        event = store.parse_event(sse.id, sse.event, sse.data)
                        last_id = event.id or last_id
                        yield event
            except httpx.TransportError as exc:
                failures += 1
                if failures > self._policy.retries:
                    raise ConnectionFailed(f"event feed: {exc!r}") from exc
                time.sleep(min(self._policy.max_wait, self._policy.backoff * 2**failures))


class AsyncClient(_Stage1):
    """The same methods as `Client`, each to be awaited; `events.stream()` is an async iterator."""

    if TYPE_CHECKING:
        # For type checkers only: the shared methods are annotated with the sync answers; here each one
        # answers an awaitable, which one signature per method cannot say, so the groups are left open.
        datasets: Any
        runs: Any
        simulations: Any
        imports: Any
        jobs: Any
        events: Any
        measurements: Any
        auth: Any
        maintenance: Any

        async def sql(
            self, query: str, *, as_: As = "pandas", timeout: float | None = None, time_columns: Sequence[str] = ()
        ) -> Any: ...
        async def query(  # type: ignore[override]
            self, sql: str, *, limit: int | None = None, timeout: float | None = None
        ) -> dict[str, Any]: ...
        async def health(self) -> dict[str, Any]: ...  # type: ignore[override]
        async def metrics(self) -> str: ...  # type: ignore[override]

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 300.0,
        retries: int = 5,
        backoff: float = 0.25,
        verify: bool | str = True,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = self._setup(url, token, retries, backoff)
        self._http = httpx.AsyncClient(
            base_url=self.url, headers=headers, timeout=self._timeout(timeout), verify=verify, transport=transport
        )
        if transport is None:
            large_reads.install(self._http)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, call: Call) -> Reply:
        try:
            async for attempt in AsyncRetrying(**self._policy.tenacity_kwargs()):
                with attempt:
                    body = call.body()
                    content = body if body is None or isinstance(body, bytes) else _chunks(body)
                    if call.large:
                        request = self._http.stream(call.method, call.path, **self._request(call, content))
                        async with request as answer:
                            if answer.status_code >= 400:
                                await answer.aread()
                                return self._reply(answer)
                            filled = bytearray()
                            async for piece in answer.aiter_bytes():
                                filled += piece
                            return self._reply(answer, filled)
                    response = await self._http.request(call.method, call.path, **self._request(call, content))
                    return self._reply(response)
        except httpx.TransportError as exc:
            raise ConnectionFailed(f"{call.method} {call.path}: {exc!r}") from exc
        raise AssertionError("unreachable: tenacity re-raises the last error")

    def _run(self, op: Op[T]) -> Any:
        return self._drive(op)

    async def _drive(self, op: Op[T]) -> T:
        try:
            step = next(op)
            while True:
                if isinstance(step, Sleep):
                    await anyio.sleep(step.seconds)
                    step = op.send(SLEPT)
                    continue
                try:
                    reply = await self._send(step)
                except Stage1Error as exc:
                    step = op.throw(exc)
                else:
                    step = op.send(reply)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    async def _events(self, call: Call, last_id: str | None) -> AsyncIterator[Event]:
        failures = 0
        while True:
            headers = call.request_headers() | ({"Last-Event-ID": last_id} if last_id else {})
            try:
                async with aconnect_sse(
                    self._http,
                    "GET",
                    call.path,
                    params=call.query(),
                    headers=headers,
                    timeout=httpx.Timeout(EVENTS_READ_TIMEOUT, connect=10.0),
                ) as source:
                    if source.response.status_code >= 400:
                        await source.response.aread()
                        self._reply(source.response)
                    failures = 0
                    async for sse in source.aiter_sse():
                        event = store.parse_event(sse.id, sse.event, sse.data)
                        last_id = event.id or last_id
                        yield event
            except httpx.TransportError as exc:
                failures += 1
                if failures > self._policy.retries:
                    raise ConnectionFailed(f"event feed: {exc!r}") from exc
                await anyio.sleep(min(self._policy.max_wait, self._policy.backoff * 2**failures))


async def _chunks(chunks: Iterator[Chunk]) -> AsyncIterator[Chunk]:
    for chunk in chunks:
        yield chunk


def _filled(pieces: Iterator[bytes]) -> bytearray:
    """A body in one buffer, each piece appended as it arrives."""
    body = bytearray()
    for piece in pieces:
        body += piece
    return body
