"""The measurement names of a dataset: reserved when it is created, settled when its record commits."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from application.landing import Owner, reserve_default, settle, try_reserve
from application.ports import NameState, UnitOfWork, UnitOfWorkFactory
from domain.datasets import Dataset
from domain.errors import Conflict
from domain.frames import FrameKind
from domain.values import MeasurementName, Slug

DATASET_FRAME_KINDS = (FrameKind.OHLCV, FrameKind.INDICATORS)
# How long a create waits for another save landing rows under one of its names (a parallel create of the
# same slug, typically) before it takes the next free name instead.
LANDING_WAIT_SECONDS = 30.0
# A create that loses the race for its slug turns into an update; one more round covers a failed winner.
CREATE_ATTEMPTS = 3


async def reserve_for_create(
    uow: UnitOfWorkFactory, slug: Slug, name: MeasurementName, explicit: bool, owner: Owner, now: datetime
) -> MeasurementName | None:
    """Reserve a new dataset's measurement: while another save is landing rows under the name (a parallel
    create of this slug, typically), wait for it; None once the slug exists (the caller updates it)."""
    deadline, pause = time.monotonic() + LANDING_WAIT_SECONDS, 0.02
    while not await try_reserve(uow, name, owner, now):
        async with uow() as tx:
            holder = await tx.measurement_names.holder(name)
        if holder is not None and holder.state is NameState.LANDING and time.monotonic() < deadline:
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.5)
            continue
        if await slug_exists(uow, slug):
            return None
        if explicit:
            raise Conflict(f"measurement {name} already belongs to another record", {"measurement": str(name)})
        # A default name some other record holds (or a late drop still holds): the next free one.
        return await reserve_default(uow, name, owner, now)
    return name


async def slug_exists(uow: UnitOfWorkFactory, slug: Slug) -> bool:
    async with uow() as tx:
        return await tx.datasets.get_by_slug(slug) is not None


async def settle_names(
    uow: UnitOfWork, dataset: Dataset, new: list[MeasurementName], owner: Owner, now: datetime
) -> None:
    """New names must be the dataset's; names it already had become its own where nobody else holds them
    (two legacy records may share one, and an update must not fail over that)."""
    for kind in DATASET_FRAME_KINDS:
        name = dataset.measurement_for(kind)
        if name in new:
            await settle(uow, name, owner, now)
        else:
            await uow.measurement_names.settle(name, owner.kind, owner.id, now)
