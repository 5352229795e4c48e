"""What `serve` sweeps up after processes that died (SIGKILL, power loss): spool files no live request or
unfinished job holds, measurement-name reservations whose save's lease lapsed, and what a dead write left in
the time-series store (QuestDB staging tables). Once at start, then every `STAGE1_SWEEP_SECONDS`; a
`stage1 worker` sweeps the store's leftovers too, with its hourly pruning."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import anyio

from adapters.frames.spool_files import sweep
from application.landing import release_stale_names
from entrypoints.container import OpenPorts
from entrypoints.settings import Settings

log = logging.getLogger("stage1.housekeeping")


async def sweep_once(ports: OpenPorts, settings: Settings) -> None:
    """One sweep; a failure is logged and left for the next one (it must never stop the server)."""

    async def in_use(paths: Sequence[str]) -> set[str]:
        async with ports.uow() as tx:
            return await tx.jobs.uploads_in_use(paths)

    try:
        await sweep(settings.uploads, in_use)
        released = await ports.bind(release_stale_names)()
        if released:
            log.info("released %d measurement names whose save died: %s", len(released), ", ".join(released[:20]))
    except Exception:
        log.warning("sweeping crash leftovers failed; the next sweep retries", exc_info=True)
    await sweep_store_leftovers(ports)


async def sweep_store_leftovers(ports: OpenPorts) -> None:
    """What writes that died left in the time-series store; a failure is logged and left for the next sweep."""
    try:
        dropped = await ports.store.sweep_leftovers()
        if dropped:
            log.info("dropped %d staging tables of writes that died: %s", len(dropped), ", ".join(dropped[:20]))
    except Exception:
        log.warning("sweeping crash leftovers failed; the next sweep retries", exc_info=True)


@asynccontextmanager
async def leftovers_swept(ports: OpenPorts, settings: Settings) -> AsyncIterator[None]:
    await sweep_once(ports, settings)
    if settings.sweep_seconds <= 0:
        yield
        return
    async with anyio.create_task_group() as group:

        async def every_period() -> None:
            while True:
                await anyio.sleep(settings.sweep_seconds)
                await sweep_once(ports, settings)

        group.start_soon(every_period)
        try:
            yield
        finally:
            group.cancel_scope.cancel()
