"""`stale` and `stale_reason` of runs and simulations, answered from their dataset's versions."""

from __future__ import annotations

from collections.abc import Sequence

from application.ports import UnitOfWork
from domain.runs import WalkforwardRun
from domain.simulations import Simulation
from domain.versions import staleness


async def mark_stale(unit: UnitOfWork, records: Sequence[WalkforwardRun | Simulation]) -> None:
    """Set each record's `stale` and `stale_reason` (one read of the versions of their datasets)."""
    if not records:
        return
    history = await unit.versions.history({record.dataset_id for record in records})
    for record in records:
        noun = "run" if isinstance(record, WalkforwardRun) else "simulation"
        found = staleness(record.dataset_version, history.get(record.dataset_id, []), noun)
        record.stale, record.stale_reason = found.stale, found.reason
