"""The ports the use cases need for metadata, jobs and plain services (the time-series ones are in
`series_ports.py`). Adapters implement them; unit tests use the in-memory ones.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import TracebackType
from typing import Any, Protocol, Self
from uuid import UUID

# The event ports live in their own module; re-exported, so `application.ports` still names every port.
from application.event_ports import Event as Event
from application.event_ports import EventFeed as EventFeed
from application.event_ports import EventOutbox as EventOutbox
from application.event_ports import EventPublisher as EventPublisher
from domain.datasets import Dataset
from domain.jobs import Job, JobStatus
from domain.lockout import Attempts
from domain.paging import Page, PageRequest
from domain.runs import WalkforwardRun
from domain.search.query import Found, SearchQuery
from domain.search.records import RunRecord, SimulationRecord
from domain.simulations import Simulation, Trade
from domain.tokens import ApiToken
from domain.versions import DatasetVersion

# ---------------------------------------------------------------- metadata


@dataclass(frozen=True, slots=True)
class DatasetFilter:
    symbol: str | None = None
    granularity: str | None = None
    search: str | None = None


@dataclass(frozen=True, slots=True)
class DatasetListing:
    """A dataset with the counts the desktop's browser shows next to it."""

    dataset: Dataset
    related_runs: int
    related_simulations: int


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """What narrows a list of runs or of simulations alike: their dataset and status."""

    dataset_id: UUID | None = None
    dataset_slug: str | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class RunFilter(RecordFilter):
    measurement: str | None = None
    search: str | None = None


@dataclass(frozen=True, slots=True)
class SimulationFilter(RecordFilter):
    run_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class JobFilter:
    status: str | None = None
    type: str | None = None


class DatasetRepository(Protocol):
    async def lock(self, dataset_id: UUID) -> None:
        """Held until the transaction ends: two writers of one dataset take turns (its next version number)."""
        ...

    async def add(self, dataset: Dataset) -> None: ...
    async def save(self, dataset: Dataset) -> None: ...
    async def get(self, dataset_id: UUID) -> Dataset | None: ...
    async def get_by_slug(self, slug: str) -> Dataset | None: ...
    async def list(self, filters: DatasetFilter, page: PageRequest) -> Page[DatasetListing]: ...
    async def related_counts(self, dataset_id: UUID) -> tuple[int, int]: ...
    async def delete(self, dataset_id: UUID) -> None:
        """Removes the dataset (and its legacy mirror row); its runs and simulations must be gone first."""
        ...


class RunRepository(Protocol):
    async def add(self, run: WalkforwardRun) -> None: ...
    async def lock(self, run_id: UUID) -> None:
        """Until the transaction ends, no other one changes this run (read it again after this)."""
        ...
    async def get(self, run_id: UUID) -> WalkforwardRun | None: ...
    async def prediction_measurement(self, run_id: UUID) -> str | None:
        """The run's prediction measurement, None when there is no such run: one look, where `get` also
        reads the folds (a predictions export needs nothing else before its first row)."""
        ...
    async def save(self, run: WalkforwardRun) -> None:
        """Updates the run's own row (not its folds); a missing run is NotFound."""
        ...
    async def replace_folds(self, run: WalkforwardRun) -> None:
        """The run's stored folds become exactly `run.folds`."""
        ...
    async def list(self, filters: RunFilter, page: PageRequest) -> Page[WalkforwardRun]: ...
    async def measurement_taken(self, measurement: str) -> bool: ...
    async def delete(self, run_id: UUID) -> None:
        """Removes the run and its folds; its simulations must be gone first."""
        ...


class RunSearch(Protocol):
    """Runs matching a search, sorted and paged (see `domain.search`)."""

    async def search(self, query: SearchQuery) -> Found[RunRecord]: ...


class SimulationSearch(Protocol):
    async def search(self, query: SearchQuery) -> Found[SimulationRecord]: ...


class SimulationRepository(Protocol):
    async def add(self, simulation: Simulation, trades: Sequence[Trade]) -> None: ...
    async def replace_trades(self, simulation: Simulation, trades: Sequence[Trade]) -> None:
        """The simulation saved with these trades and its buckets in place of the ones it had."""
        ...

    async def lock(self, simulation_id: UUID) -> None:
        """Until the transaction ends, no other one changes this simulation (read it again after this)."""
        ...
    async def get(self, simulation_id: UUID) -> Simulation | None: ...
    async def save(self, simulation: Simulation) -> None:
        """Updates the simulation's own row (not its buckets or trades)."""
        ...
    async def all_trades(self, simulation_id: UUID) -> list[Trade]: ...
    async def trades(self, simulation_id: UUID, page: PageRequest) -> Page[Trade]: ...
    async def list(self, filters: SimulationFilter, page: PageRequest) -> Page[Simulation]: ...
    async def measurement_taken(self, measurement: str) -> bool: ...
    async def delete(self, simulation_id: UUID) -> None:
        """Removes the simulation with its buckets and stored trades."""
        ...


class JobRepository(Protocol):
    async def add(self, job: Job) -> None: ...
    async def save(self, job: Job) -> None: ...
    async def get(self, job_id: UUID) -> Job | None: ...
    async def list(self, filters: JobFilter, page: PageRequest) -> Page[Job]: ...
    async def count_by_status(self) -> dict[JobStatus, int]: ...
    async def delete(self, job_id: UUID) -> None:
        """Removes the job and the events that reported it."""
        ...

    async def finished_before(self, cutoff: datetime, limit: int) -> Sequence[Job]:
        """Up to `limit` finished jobs completed before `cutoff`, oldest first."""
        ...

    async def uploads_in_use(self, paths: Sequence[str]) -> set[str]:
        """Those of `paths` that a job not yet COMPLETED still names as its upload (it may run, or be retried)."""
        ...


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """The outcome of a write sent with an idempotency key, replayed for every repeat."""

    key: str
    scope: str
    request_hash: str
    created: bool  # whether the first write created its record (a replay answers as the first one did)
    body: dict[str, Any]
    created_at: datetime


class IdempotencyRecords(Protocol):
    async def get(self, key: str, scope: str) -> IdempotencyRecord | None: ...
    async def add(self, record: IdempotencyRecord) -> None: ...


class NameState(StrEnum):
    """Where a reserved measurement name stands: its rows are being written, or a committed record owns it."""

    LANDING = "landing"
    OWNED = "owned"
    # The owner was deleted; the name stays taken until its measurement has been dropped.
    DROPPING = "dropping"


@dataclass(frozen=True, slots=True)
class NameReservation:
    """Who holds a measurement name. One row per name, in the metadata store, so that every process sees it."""

    name: str
    owner_kind: str  # "dataset", "run" or "simulation"
    owner_id: UUID
    state: NameState
    created_at: datetime
    lease_until: datetime | None = None  # LANDING only: lapsed means the save's process died


# How long a LANDING reservation holds without being renewed: a save renews it while it runs, so only a
# save whose process died lets it lapse (`STAGE1_NAME_LEASE_SECONDS`).
NAME_LEASE = timedelta(seconds=60)


class MeasurementNames(Protocol):
    """Measurement names taken by records, one holder each (unique in the store, not per process).

    A save reserves its name in a transaction of its own, committed before any row is written, renews the
    reservation's lease while it writes, settles it with the record's commit, and releases it when it
    fails. A name stays reserved until its measurement is dropped. A LANDING reservation whose lease lapsed
    was left by a process that died mid-save: another save may take it over, and the sweep releases it."""

    lease: timedelta

    async def reserve(self, name: str, owner_kind: str, owner_id: UUID, now: datetime) -> bool:
        """Takes a free name (or one whose LANDING lease lapsed) for the owner, LANDING until `now + lease`;
        True only when this very call took it."""
        ...

    async def renew(self, name: str, owner_id: UUID, now: datetime) -> bool:
        """Extends the owner's LANDING lease to `now + lease`; False when the owner no longer holds it."""
        ...

    async def release_stale(self, now: datetime) -> list[str]:
        """Frees every LANDING reservation whose lease lapsed before `now`; answers their names."""
        ...

    async def settle(self, name: str, owner_kind: str, owner_id: UUID, now: datetime) -> bool:
        """The owner's record commits with this: the name becomes OWNED by it (taken now if free).

        False, and nothing changed, when another owner holds the name."""
        ...

    async def release(self, name: str, owner_id: UUID) -> None:
        """Frees a name this owner reserved and never settled (its save failed)."""
        ...

    async def holder(self, name: str) -> NameReservation | None: ...

    async def doom(self, name: str, owner_kind: str, owner_id: UUID, now: datetime) -> bool:
        """Inside the owner's delete: the name becomes DROPPING (taken now if free), so nobody takes it
        before its measurement is dropped. False, and nothing changed, when another owner holds it."""
        ...

    async def forget(self, name: str) -> bool:
        """Frees a DROPPING name once its measurement is gone; False when the name is not DROPPING."""
        ...

    async def every(self) -> list[NameReservation]:
        """Every reserved name (maintenance: what the service created and for whom)."""
        ...


class TokenRepository(Protocol):
    async def add(self, token: ApiToken) -> None: ...
    async def save(self, token: ApiToken) -> None: ...
    async def get(self, token_id: UUID) -> ApiToken | None: ...
    async def get_by_hash(self, token_hash: str) -> ApiToken | None: ...
    async def list(self, page: PageRequest) -> Page[ApiToken]: ...


class DatasetVersions(Protocol):
    """`stage1_dataset_versions`: a fingerprint per change of a dataset's rows, numbered from 1."""

    async def add(self, version: DatasetVersion) -> None: ...
    async def latest(self, dataset_id: UUID) -> DatasetVersion | None: ...
    async def newest_first(self, dataset_id: UUID, page: PageRequest) -> Page[DatasetVersion]:
        """Newest first, by offset."""
        ...

    async def history(self, dataset_ids: Collection[UUID]) -> dict[UUID, list[DatasetVersion]]:
        """Every version of each dataset (those without any are left out)."""
        ...


class UnitOfWork(Protocol):
    """One metadata transaction. Leaving the block without `commit()` rolls back."""

    datasets: DatasetRepository
    runs: RunRepository
    simulations: SimulationRepository
    jobs: JobRepository
    idempotency: IdempotencyRecords
    tokens: TokenRepository
    run_search: RunSearch
    simulation_search: SimulationSearch
    measurement_names: MeasurementNames
    versions: DatasetVersions
    events: EventOutbox

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...

    def reading(self) -> UnitOfWork:
        """A unit that only reads (never commits): a store may run each of its statements on its own,
        without a transaction around them. Each statement still reads committed data as one snapshot."""
        ...


# ---------------------------------------------------------------- jobs


class JobQueue(Protocol):
    """The durable queue over `stage1_jobs`: claims are atomic, leases expire, wake-ups are pushed.

    Every state change is also published as a `job.updated` event."""

    async def enqueue(self, job: Job, idempotency_key: str | None = None) -> Job:
        """Stores a PENDING job and wakes a worker; a key used before answers the first job instead."""
        ...

    async def enqueue_many(self, jobs: Sequence[Job]) -> None: ...
    async def get(self, job_id: UUID) -> Job | None: ...
    async def claim_batch(
        self, worker_id: str, types: Sequence[str] | None, lease: timedelta, limit: int
    ) -> list[Job]:
        """Up to `limit` of the most urgent claimable jobs of `types` (None: any type), most urgent
        first, now RUNNING for this worker."""
        ...
    async def heartbeat(self, job_id: UUID, worker_id: str, lease: timedelta) -> bool:
        """Renews the lease; False when this worker no longer holds the job."""
        ...

    async def progress(
        self,
        job_id: UUID,
        progress: int,
        total: int | None,
        message: str | None,
        worker_id: str | None = None,
    ) -> bool:
        """Writes progress; answers whether the job should stop (cancel asked, or no longer ours)."""
        ...

    async def finish(self, job: Job, worker_id: str) -> bool:
        """Stores the state the worker computed with Job.complete/fail/acknowledge_cancel/release.

        False (and nothing written) when `worker_id` no longer holds this attempt of the job."""
        ...

    async def cancel(self, job_id: UUID) -> Job:
        """Job.cancel under a row lock; raises NotFound or InvalidTransition."""
        ...

    async def retry(self, job_id: UUID) -> Job:
        """Job.retry under a row lock, and a wake-up; raises NotFound or InvalidTransition."""
        ...

    async def requeue_expired(self) -> int: ...
    async def wait_for_work(self, timeout: float) -> None: ...
    async def wake(self) -> None:
        """Tell waiting workers that a job became claimable (after a retry through the API)."""
        ...


# ---------------------------------------------------------------- plain services


class Clock(Protocol):
    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    def new_id(self) -> UUID: ...


class AttemptLedger(Protocol):
    """Credential tries and failures per client, seen by every server process that shares the ledger."""

    async def get(self, key: str) -> Attempts | None: ...

    async def change(self, key: str, how: Callable[[Attempts], Attempts]) -> Attempts:
        """Applies `how` to the key's record (a fresh one when none) atomically across processes; answers it."""
        ...


class WorkerMetrics(Protocol):
    """What the worker counts per job type: claimed, completed, failed, retried, cancelled, released, lost."""

    def count(self, counter: str, job_type: str, n: int = 1) -> None: ...
    def observe_duration(self, job_type: str, seconds: float) -> None: ...
