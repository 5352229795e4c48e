"""QuestDB's HTTP API (/exec for JSON, /exp for CSV streams), with its failures as domain errors."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

import anyio
import httptools
import httpx

from adapters.questdb.exp_stream import AnswerCut, ExpAnswer, ExpEndpoint
from domain.errors import StoreTimeout, StoreUnavailable, UpstreamError

CONNECT_TIMEOUT: Final = 5.0
ERROR_BYTES: Final = 64 * 1024


class QuestDBHttp:
    """One pooled async HTTP client for a QuestDB server."""

    def __init__(self, base_url: str, *, timeout: float = 30.0, max_connections: int = 16) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._exp = ExpEndpoint.of(self.base_url)
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            # Answers are small JSON read at once; compressing them would only cost both sides CPU.
            headers={"Accept-Encoding": "identity"},
        )

    async def exec(self, sql: str, *, timeout: float | None = None) -> dict[str, Any]:
        """The JSON answer of one statement; a QuestDB error becomes UpstreamError with its message."""
        limit = timeout or self.timeout
        try:
            with anyio.fail_after(limit + CONNECT_TIMEOUT):
                response = await self._client.get(
                    "/exec", params={"query": sql}, headers=_timeout_header(limit), timeout=_timeouts(limit)
                )
        except (httpx.HTTPError, TimeoutError, OSError) as exc:
            raise self.translate(exc, limit) from exc
        try:
            body: dict[str, Any] = response.json()
        except ValueError as exc:
            raise UpstreamError(
                f"QuestDB answered {response.status_code} without JSON", {"questdb": response.text[:500]}
            ) from exc
        if "error" in body or response.status_code >= 400:
            raise questdb_error(body, limit)
        return body

    async def dataset(self, sql: str, *, timeout: float | None = None) -> list[list[Any]]:
        rows: list[list[Any]] = (await self.exec(sql, timeout=timeout)).get("dataset", [])
        return rows

    @asynccontextmanager
    async def export(self, sql: str, timeout: float) -> AsyncIterator[AsyncIterator[bytes]]:
        """The CSV bytes of a query as /exp streams them, header row first, read off a connection of the
        export's own (exp_stream.py says why not httpx).

        `timeout` bounds the wait for the answer to start and then every wait for the next chunk."""
        try:
            with anyio.fail_after(timeout + CONNECT_TIMEOUT):
                answer = await ExpAnswer.open(
                    self._exp, sql, _timeout_header(timeout), min(CONNECT_TIMEOUT, timeout), timeout
                )
        except (TimeoutError, OSError, AnswerCut, httptools.HttpParserError) as exc:
            raise self.translate(exc, timeout) from exc
        try:
            if answer.status != 200:
                try:
                    text = await answer.read(ERROR_BYTES)
                except (TimeoutError, AnswerCut, httptools.HttpParserError) as exc:
                    raise self.translate(exc, timeout) from exc
                try:
                    body = json.loads(text)
                except ValueError:
                    body = {"error": text[:500].decode(errors="replace") or f"HTTP {answer.status}"}
                raise questdb_error(body if isinstance(body, dict) else {"error": str(body)[:500]}, timeout)
            yield self._chunks(answer, timeout)
        finally:
            await answer.aclose()

    async def _chunks(self, answer: ExpAnswer, timeout: float) -> AsyncIterator[bytes]:
        try:
            async for chunk in answer.body(timeout):
                yield chunk
        except (TimeoutError, AnswerCut, httptools.HttpParserError) as exc:
            raise self.translate(exc, timeout) from exc

    def translate(self, exc: BaseException, timeout: float | None = None) -> Exception:
        if isinstance(exc, AnswerCut):
            return StoreUnavailable("QuestDB closed the connection mid-answer", {"error": str(exc)})
        if isinstance(exc, httpx.ConnectTimeout | httpx.ConnectError | ConnectionError):
            return StoreUnavailable(f"QuestDB is unreachable at {self.base_url}", {"error": str(exc) or repr(exc)})
        if isinstance(exc, httpx.TimeoutException | TimeoutError):
            return StoreTimeout(f"the QuestDB query ran past its timeout of {timeout or self.timeout:g} s",
                                {"timeout": timeout or self.timeout})
        if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
            # Reset, cut or closed without an answer: QuestDB went away (killed, restarting), it did not refuse.
            return StoreUnavailable("QuestDB closed the connection mid-answer", {"error": str(exc) or repr(exc)})
        return UpstreamError(f"QuestDB request failed: {exc}", {"questdb": str(exc) or repr(exc)})

    async def close(self) -> None:
        await self._client.aclose()


def questdb_error(body: dict[str, Any], timeout: float | None = None) -> Exception:
    message = str(body.get("error") or body.get("message") or "QuestDB reported an error")
    if "timeout" in message.lower() and "query aborted" in message.lower():
        return StoreTimeout(f"the QuestDB query ran past its timeout of {timeout or 0:g} s",
                            {"timeout": timeout, "questdb": message})
    details: dict[str, Any] = {"questdb": message}
    if body.get("position") is not None:
        details["position"] = body["position"]
    return UpstreamError(message, details)


def _timeout_header(timeout: float) -> dict[str, str]:
    return {"Statement-Timeout": str(max(1, math.ceil(timeout * 1000)))}


def _timeouts(timeout: float) -> httpx.Timeout:
    return httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT, timeout))
