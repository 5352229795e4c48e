"""What a job handler is, and the registry the worker looks handlers up in by job type."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any, Protocol

from domain.jobs import Job


class JobCancelled(Exception):
    """Raised by `ProgressReporter.report` once the job was asked to cancel: the handler unwinds."""


class ProgressReporter(Protocol):
    async def report(self, progress: int, total: int | None = None, message: str | None = None) -> None:
        """Records progress (stored at most every few hundred ms); raises JobCancelled when asked to stop."""
        ...


JobHandler = Callable[[Job, ProgressReporter], Awaitable[dict[str, Any]]]


class JobHandlers(Mapping[str, JobHandler]):
    """Job type -> handler. A handler returns the job's `result`; raising InvalidInput fails the job at
    once, any other exception is retried with backoff."""

    def __init__(self, handlers: Mapping[str, JobHandler] | None = None) -> None:
        self._handlers: dict[str, JobHandler] = dict(handlers or {})

    def register(self, job_type: str) -> Callable[[JobHandler], JobHandler]:
        def decorate(handler: JobHandler) -> JobHandler:
            self.add(job_type, handler)
            return handler

        return decorate

    def add(self, job_type: str, handler: JobHandler) -> None:
        if job_type in self._handlers:
            raise ValueError(f"a handler for job type {job_type!r} is already registered")
        self._handlers[job_type] = handler

    def __getitem__(self, job_type: str) -> JobHandler:
        return self._handlers[job_type]

    def __iter__(self) -> Iterator[str]:
        return iter(self._handlers)

    def __len__(self) -> int:
        return len(self._handlers)
