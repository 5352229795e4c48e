"""Walk-forward runs: a model trained fold by fold over a dataset, with per-bar predictions."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.errors import InvalidInput
from domain.lifecycle import RecordDetails
from domain.values import MeasurementName, Slug


@dataclass(slots=True)
class Fold:
    fold_number: int
    train_start: int | None = None
    train_end: int | None = None
    test_start: int | None = None
    test_end: int | None = None
    train_start_ts: int | None = None
    train_end_ts: int | None = None
    test_start_ts: int | None = None
    test_end_ts: int | None = None
    thresholds: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True, kw_only=True)
class RunDetails(RecordDetails):
    """What a client tells about a run; the service adds its identity, dataset and measurement.

    A new field of a run goes here (or on WalkforwardRun when the service sets it; one of every record on
    `RecordDetails`): the wire, the command and the tables all map it by name.
    """

    target_column: str | None = None
    feature_columns: list[str] = field(default_factory=list)
    walk_config: dict[str, Any] = field(default_factory=dict)
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    folds: list[Fold] = field(default_factory=list)
    clipboard_text: str | None = None
    declared_fold_count: int | None = None

    def __post_init__(self) -> None:
        if not self.folds:  # a listed run carries none: counting nothing was a third of mapping one
            return
        counts = Counter(fold.fold_number for fold in self.folds)
        repeated = sorted(number for number, count in counts.items() if count > 1)
        if repeated:
            raise InvalidInput(
                f"fold_number must be unique within a run; repeated: {', '.join(map(str, repeated[:20]))}",
                {"field": "folds", "fold_numbers": repeated[:100]},
            )

    @property
    def fold_count(self) -> int:
        """The folds stored, or the count the client declared when it sent no fold detail."""
        return len(self.folds) if self.folds else (self.declared_fold_count or 0)


@dataclass(slots=True, kw_only=True)
class WalkforwardRun(RunDetails):
    run_id: UUID
    dataset_id: UUID
    dataset_slug: Slug
    prediction_measurement: MeasurementName
    created_at: datetime
    # The dataset version the run was saved against (null: saved before datasets had versions).
    dataset_version: int | None = None
    # What the saves of predictions found (domain.fold_checks); None for a run saved before they were checked.
    checks: dict[str, Any] | None = None
    # Answered, never stored: whether a later dataset version changed bars this record used (domain/versions.py).
    stale: bool = False
    stale_reason: str | None = None


def default_prediction_measurement(slug: Slug, now: datetime) -> MeasurementName:
    return MeasurementName(f"{slug}_wf_{now.strftime('%Y%m%d%H%M%S')}")
