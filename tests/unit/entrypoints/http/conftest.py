"""The whole HTTP app over in-memory fakes of every port: fast, and it asserts on state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient

from adapters.jobs.events import MemoryEventFeed
from adapters.jobs.memory_queue import MemoryJobQueue
from adapters.memory.attempts import InMemoryAttemptLedger
from adapters.memory.metadata import InMemoryMetadata, InMemoryUnitOfWorkFactory
from adapters.memory.timeseries import InMemoryTimeSeriesStore
from adapters.system import SystemClock
from entrypoints.container import Container, JobBackend
from entrypoints.http.app import create_app
from entrypoints.settings import Settings


class World:
    """The fakes behind one app, for tests to look at directly."""

    def __init__(self, tmp: Path) -> None:
        self.metadata = InMemoryMetadata()
        self.store = InMemoryTimeSeriesStore()
        self.events = MemoryEventFeed()
        self.queue = MemoryJobQueue(SystemClock(), self.events)
        # The API lists jobs through the metadata store and the queue writes them: one table, as in SQL.
        self.queue._jobs = self.metadata.jobs
        self.attempts = InMemoryAttemptLedger()
        self.uploads = tmp / "uploads"
        self.settings = Settings(
            data_dir=tmp,
            database_url="postgresql+asyncpg://unused@127.0.0.1:1/unused",
            timeseries="memory",
            auth_enabled=False,
            in_process_worker=True,
            upload_dir=self.uploads,
            _env_file=None,
        )

    def container(self) -> Container:
        container = Container(settings=self.settings)
        container.uow.override(providers.Object(InMemoryUnitOfWorkFactory(self.metadata)))
        container.store.override(providers.Object(self.store))
        container.jobs.override(providers.Object(JobBackend(self.queue, self.events)))
        container.attempts.override(providers.Object(self.attempts))
        return container

    def leftover_uploads(self) -> list[Path]:
        return sorted(self.uploads.glob("*")) if self.uploads.exists() else []


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


@pytest.fixture
async def client(world: World) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    app = create_app(world.settings, world.container())
    async with AsyncTestClient(app=app) as test_client:
        yield test_client
