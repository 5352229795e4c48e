"""The changes subscribers can follow (the SSE `event` field): one list for publishers and the feed."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    JOB_UPDATED = "job.updated"
    DATASET_UPDATED = "dataset.updated"
    RUN_CREATED = "run.created"
    SIMULATION_CREATED = "simulation.created"
    RUN_UPDATED = "run.updated"
    SIMULATION_UPDATED = "simulation.updated"
    DATASET_DELETED = "dataset.deleted"
    RUN_DELETED = "run.deleted"
    SIMULATION_DELETED = "simulation.deleted"
