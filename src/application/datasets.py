"""Dataset use cases: register a triplet, upload its frames, read it back, see what hangs off it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from application.commands import BackfillDataset, UploadDatasetFrames, UpsertDataset
from application.dataset_frames import FrameWriter, commit_written, open_frames, save_with_version, write_frames
from application.dataset_names import (
    CREATE_ATTEMPTS,
    DATASET_FRAME_KINDS,
    reserve_for_create,
    settle_names,
    slug_exists,
)
from application.idempotency import earlier_answer
from application.landing import Owner, leases_kept, release_quietly, settle, try_reserve
from application.ports import (
    Clock,
    IdGenerator,
    UnitOfWork,
    UnitOfWorkFactory,
)
from application.series_ports import (
    MeasurementInfo,
    RowFingerprints,
    SeriesCatalog,
    UploadReader,
)
from domain.datasets import Dataset, DatasetChanges
from domain.errors import Conflict, InvalidInput, NotFound
from domain.frames import FrameKind
from domain.values import MeasurementName, Slug, validate_granularity
from domain.versions import FrameChange

MEASUREMENT_FIELDS = {FrameKind.OHLCV: "ohlcv_measurement", FrameKind.INDICATORS: "indicator_measurement"}


@dataclass(frozen=True, slots=True)
class DatasetSaved:
    dataset: Dataset
    created: bool
    written: dict[FrameKind, int]


async def find_dataset(uow: UnitOfWork, ref: str) -> Dataset:
    """A dataset by its UUID or its slug; anything else is simply not found."""
    dataset: Dataset | None = None
    try:
        dataset = await uow.datasets.get(UUID(ref))
    except ValueError:
        if len(ref) <= 64:
            dataset = await uow.datasets.get_by_slug(ref)
    if dataset is None:
        raise NotFound(unknown_dataset(ref), {"dataset": ref[:80], "reason": "unknown dataset"})
    return dataset


def unknown_dataset(ref: str) -> str:
    """One wording wherever a dataset is named and missing, whatever the status (404 on a read, 409 on a run)."""
    return f"unknown dataset {ref[:80]!r}: no dataset has this id or slug"


async def upsert_dataset(
    command: UpsertDataset,
    *,
    uow: UnitOfWorkFactory,
    uploads: UploadReader,
    frames: FrameWriter,
    clock: Clock,
    ids: IdGenerator,
) -> DatasetSaved:
    """Create or update the triplet by slug; with frames, write them and record the store's counts.

    Parallel creates of one new slug (a client retrying after a timeout) end as one create and updates:
    the loser of the race finds the winner's record and updates it, and never drops what the winner wrote."""
    slug = Slug(command.dataset_slug)
    if command.changes.granularity is not None:
        validate_granularity(command.changes.granularity)
    deps = _Saving(uow, uploads, frames, clock)
    for _ in range(CREATE_ATTEMPTS):
        async with uow() as tx:
            replay = await earlier_answer(tx, command.idempotency)
            if replay is not None:
                return DatasetSaved(await find_dataset(tx, str(replay.body["dataset_id"])), False, {})
            dataset = await tx.datasets.get_by_slug(slug)
        if dataset is None:
            saved = await _create(deps, Dataset.register(ids.new_id(), slug, command.changes, clock.now()), command)
        else:
            saved = await _update(deps, dataset, command)
        if saved is not None:
            return saved
    raise Conflict(f"dataset {slug} keeps changing under this save; retry", {"dataset_slug": str(slug)})


@dataclass(frozen=True, slots=True)
class _Saving:
    """The ports a dataset save uses, handed on to its create and update halves."""

    uow: UnitOfWorkFactory
    uploads: UploadReader
    frames: FrameWriter
    clock: Clock


async def _create(deps: _Saving, dataset: Dataset, command: UpsertDataset) -> DatasetSaved | None:
    """A new dataset with its names reserved first; None when another save created the slug meanwhile
    (everything this one reserved or created is undone, and the caller updates the other's record)."""
    now, slug = dataset.created_at, dataset.dataset_slug
    owner = Owner("dataset", dataset.dataset_id)
    reserved: list[MeasurementName] = []
    done = False
    try:
        for kind, field_name in MEASUREMENT_FIELDS.items():
            explicit = getattr(command.changes, field_name) is not None
            name = await reserve_for_create(deps.uow, slug, dataset.measurement_for(kind), explicit, owner, now)
            if name is None:
                return None
            reserved.append(name)
            setattr(dataset, field_name, name)

        async def record(tx: UnitOfWork) -> None:
            for name in reserved:
                await settle(tx, name, owner, now)

        try:
            written = await _written(deps, dataset, command, reserved, owner, record, created=True)
        except Conflict:
            if await slug_exists(deps.uow, slug):
                return None
            raise
        done = True
        return DatasetSaved(dataset, True, written)
    finally:
        if not done:
            await release_quietly(deps.uow, reserved, owner)


async def _update(deps: _Saving, dataset: Dataset, command: UpsertDataset) -> DatasetSaved:
    now = deps.clock.now()
    before = {kind: dataset.measurement_for(kind) for kind in DATASET_FRAME_KINDS}
    dataset.revise(command.changes, now)
    owner = Owner("dataset", dataset.dataset_id)
    names = [dataset.measurement_for(kind) for kind in DATASET_FRAME_KINDS]
    renamed = [name for kind, name in zip(DATASET_FRAME_KINDS, names, strict=True) if name != before[kind]]
    reserved: list[MeasurementName] = []
    done = False
    try:
        for name in renamed:
            if not await try_reserve(deps.uow, name, owner, now):
                raise Conflict(f"measurement {name} already belongs to another record", {"measurement": str(name)})
            reserved.append(name)

        async def record(tx: UnitOfWork) -> None:
            await settle_names(tx, dataset, renamed, owner, now)

        written = await _written(deps, dataset, command, reserved, owner, record, created=False)
        done = True
        return DatasetSaved(dataset, False, written)
    finally:
        if not done:
            await release_quietly(deps.uow, reserved, owner)


async def _written(
    deps: _Saving,
    dataset: Dataset,
    command: UpsertDataset,
    reserved: list[MeasurementName],
    owner: Owner,
    record: Callable[[UnitOfWork], Awaitable[None]],
    *,
    created: bool,
) -> dict[FrameKind, int]:
    """The frames written (names `reserved` kept leased meanwhile), then the dataset (with a new version when
    its rows changed), `record` and the answer committed in one transaction; a failed commit drops the
    tables this save created."""
    async with leases_kept(deps.uow, reserved, owner, dataset.updated_at):
        streams = await open_frames(deps.uploads, command.frames)
        frames = deps.frames
        done_writing = await write_frames(frames, dataset, streams, command.mode)
        await commit_written(deps.uow, frames, dataset, done_writing, command.idempotency, new=created, record=record)
    return done_writing.rows


async def upload_dataset_frames(
    command: UploadDatasetFrames,
    *,
    uow: UnitOfWorkFactory,
    uploads: UploadReader,
    frames: FrameWriter,
) -> DatasetSaved:
    """Upload OHLCV and/or indicator frames for a dataset that exists."""
    if not command.frames:
        raise InvalidInput("send an ohlcv and/or an indicators frame", {"missing_parts": ["ohlcv", "indicators"]})
    async with uow() as tx:
        dataset = await find_dataset(tx, command.dataset_ref)
        if await earlier_answer(tx, command.idempotency) is not None:
            return DatasetSaved(dataset, False, {})
    streams = await open_frames(uploads, command.frames)
    done_writing = await write_frames(frames, dataset, streams, command.mode)
    await commit_written(uow, frames, dataset, done_writing, command.idempotency, new=False)
    return DatasetSaved(dataset, False, done_writing.rows)


async def backfill_dataset(
    command: BackfillDataset,
    *,
    uow: UnitOfWorkFactory,
    catalog: SeriesCatalog,
    fingerprints: RowFingerprints,
    clock: Clock,
    ids: IdGenerator,
) -> DatasetSaved:
    """Register a dataset over measurements already in the store; counts, bounds and checksums come
    from it. Rows the client put there without the service show up as a whole: a frame whose checksum
    differs from the latest version's counts as changed from its first bar."""
    slug = Slug(command.dataset_slug)
    ohlcv = MeasurementName(command.ohlcv_measurement, "ohlcv_measurement")
    indicators = MeasurementName(command.indicator_measurement, "indicator_measurement")
    infos: dict[FrameKind, MeasurementInfo] = {}
    for kind, name in ((FrameKind.OHLCV, ohlcv), (FrameKind.INDICATORS, indicators)):
        info = await catalog.describe(name)
        if info is None:
            raise NotFound(f"measurement {name} does not exist", {"measurement": str(name)})
        infos[kind] = info
    checksums = {
        kind: (await fingerprints.fingerprint(MeasurementName(info.name))).checksum for kind, info in infos.items()
    }
    changes = DatasetChanges(
        symbol=command.symbol,
        granularity=command.granularity,
        ohlcv_measurement=ohlcv,
        indicator_measurement=indicators,
        source="backfill",
    )
    now = clock.now()
    for attempt in range(CREATE_ATTEMPTS):
        try:
            dataset, created = await _backfilled(uow, slug, changes, infos, checksums, ids, now)
            break
        except Conflict:
            # Parallel backfills of one new slug: the loser finds the winner's record and updates it.
            if attempt == CREATE_ATTEMPTS - 1 or not await slug_exists(uow, slug):
                raise
    return DatasetSaved(dataset, created, {})


async def _backfilled(
    uow: UnitOfWorkFactory,
    slug: Slug,
    changes: DatasetChanges,
    infos: dict[FrameKind, MeasurementInfo],
    checksums: dict[FrameKind, str],
    ids: IdGenerator,
    now: datetime,
) -> tuple[Dataset, bool]:
    async with uow() as tx:
        dataset = await tx.datasets.get_by_slug(slug)
        created = dataset is None
        before = {} if dataset is None else {kind: dataset.measurement_for(kind) for kind in DATASET_FRAME_KINDS}
        if dataset is None:
            dataset = Dataset.register(ids.new_id(), slug, changes, now)
        else:
            dataset.revise(changes, now)
        latest = None if created else await tx.versions.latest(dataset.dataset_id)
        frame_changes: list[FrameChange] = []
        for kind, info in infos.items():
            dataset.record_frame(kind, info.stats, now)
            checksum = checksums[kind]
            known = None if latest is None else latest.checksum_of(kind)
            frame_changes.append(FrameChange(kind, checksum, None if checksum == known else info.first_ns))
        await save_with_version(tx, dataset, frame_changes, now, new=created)
        names = [dataset.measurement_for(kind) for kind in DATASET_FRAME_KINDS]
        new = [name for kind, name in zip(DATASET_FRAME_KINDS, names, strict=True) if before.get(kind) != name]
        await settle_names(tx, dataset, new, Owner("dataset", dataset.dataset_id), now)
        await tx.commit()
    return dataset, created
