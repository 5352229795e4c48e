"""What a delete answers, and what the orphans check finds."""

from __future__ import annotations

from entrypoints.http.schemas.common import Struct


class DeletedCounts(Struct):
    datasets: int
    runs: int
    simulations: int
    measurements: list[str]


class DeletedOut(Struct):
    deleted: DeletedCounts


class MissingMeasurement(Struct):
    kind: str
    id: str
    measurement: str


class OrphansOut(Struct):
    unowned_measurements: list[str]
    missing_measurements: list[MissingMeasurement]
    free_measurements: list[str]
