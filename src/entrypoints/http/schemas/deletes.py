"""What a delete answers, and what the orphans check finds."""

from __future__ import annotations

from typing import Annotated

from entrypoints.http.schemas.common import Struct, doc


class DeletedCounts(Struct):
    datasets: Annotated[int, doc("Datasets deleted (or that would be, on a dry run).")]
    runs: Annotated[int, doc("Runs deleted with them.")]
    simulations: Annotated[int, doc("Simulations deleted with them.")]
    measurements: Annotated[list[str], doc("Measurements dropped from the time-series store (by a job, at once).")]


class DeletedOut(Struct):
    """What a delete removed, or with `dry_run=true` what it would remove."""

    deleted: Annotated[DeletedCounts, doc("Counts of deleted records and the dropped measurements.")]


class MissingMeasurement(Struct):
    kind: Annotated[str, doc("`dataset` or `simulation`: the record whose rows are missing.")]
    id: Annotated[str, doc("The record's id (UUID).")]
    measurement: Annotated[str, doc("The measurement it names, which the store does not hold.")]


class OrphansOut(Struct):
    """Measurements no record accounts for, and records whose measurement is missing."""

    unowned_measurements: Annotated[list[str], doc("Created by the service for records that are gone; gc drops these.")]
    missing_measurements: Annotated[list[MissingMeasurement], doc("Records with rows whose measurement is gone.")]
    free_measurements: Annotated[list[str], doc("Users' own imported tables no record owns; never dropped by gc.")]
