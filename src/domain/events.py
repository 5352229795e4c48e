"""The changes subscribers can follow (the SSE `event` field): one list for publishers and the feed."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


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


def concerns_dataset(data: Mapping[str, Any], dataset_id: str, dataset_slug: str) -> bool:
    """Whether an event (its `data`) is about the dataset: the dataset itself, one of its runs or
    simulations (they name their `dataset_id`), or a job queued for it (its payload's `dataset_ref`)."""
    if data.get("dataset_id") == dataset_id:
        return True
    payload = data.get("payload")
    return isinstance(payload, Mapping) and payload.get("dataset_ref") in (dataset_id, dataset_slug)
