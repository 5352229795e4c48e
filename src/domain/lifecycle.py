"""Updating a run or a simulation after it was saved: its status moves, names, tags, notes and metrics.

Status moves only forward: PENDING -> RUNNING -> COMPLETED | FAILED, or from PENDING straight to a final
status. Asking for the current status again changes nothing. A final status without a `completed_at`
gets the time of the update.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any, Final

from domain.errors import Conflict, InvalidInput, InvalidTransition

MAX_NAME, MAX_NOTES, MAX_TAGS, MAX_TAG_TEXT = 200, 20_000, 50, 256


class RecordStatus(StrEnum):
    """Where a run or a simulation is in its life; it moves only as `_NEXT` says."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


_NEXT: Final[dict[str, frozenset[RecordStatus]]] = {
    RecordStatus.PENDING: frozenset({RecordStatus.RUNNING, RecordStatus.COMPLETED, RecordStatus.FAILED}),
    RecordStatus.RUNNING: frozenset({RecordStatus.COMPLETED, RecordStatus.FAILED}),
    RecordStatus.COMPLETED: frozenset(),
    RecordStatus.FAILED: frozenset(),
}
FINAL: Final = frozenset({RecordStatus.COMPLETED, RecordStatus.FAILED})


class _Unset(Enum):
    UNSET = "unset"


UNSET: Final = _Unset.UNSET


@dataclass(slots=True, kw_only=True)
class RecordDetails:
    """What a client tells about any record, run or simulation, and may change later with an `Update`.

    A field every record has goes here; one only runs (or simulations) have goes on `RunDetails`
    (`SimulationDetails`). The wire, the commands and the tables map them by name."""

    status: RecordStatus = RecordStatus.COMPLETED
    summary_metrics: dict[str, Any] = field(default_factory=dict)
    started_at: datetime | None = None
    completed_at: datetime | None = None
    name: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    notes: str | None = None


def check_move(kind: str, current: str, target: str) -> bool:
    """True when the status changes; a move the machine does not allow raises, naming both states."""
    if target not in _NEXT:
        raise InvalidInput(f"status must be one of {', '.join(_NEXT)}", {"field": "status", "value": target[:20]})
    if target == current:
        return False
    if target not in _NEXT.get(current, frozenset()):
        raise InvalidTransition(
            f"a {kind} cannot move from {current} to {target}", {"from": current, "to": target, "field": "status"}
        )
    return True


def check_name(name: str | None) -> str | None:
    if name is not None and len(name) > MAX_NAME:
        raise InvalidInput(f"name takes at most {MAX_NAME} characters", {"field": "name"})
    return name


def check_notes(notes: str | None) -> str | None:
    if notes is not None and len(notes) > MAX_NOTES:
        raise InvalidInput(f"notes take at most {MAX_NOTES} characters", {"field": "notes"})
    return notes


def check_tags(tags: Mapping[str, Any]) -> dict[str, str]:
    if len(tags) > MAX_TAGS:
        raise InvalidInput(f"tags take at most {MAX_TAGS} keys", {"field": "tags", "count": len(tags)})
    for key, value in tags.items():
        if not isinstance(value, str) or not key or len(key) > MAX_TAG_TEXT or len(value) > MAX_TAG_TEXT:
            raise InvalidInput(
                f"tags map keys to strings of 1 to {MAX_TAG_TEXT} characters", {"field": "tags", "key": key[:40]}
            )
    return dict(tags)


def merged(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """`changes` over `current`; a key set to null is removed."""
    result = dict(current)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


@dataclass(frozen=True, slots=True)
class Update:
    """A PATCH: every field may be absent (UNSET); `tags` and `summary_metrics` merge."""

    status: str | _Unset = UNSET
    name: str | _Unset | None = UNSET
    notes: str | _Unset | None = UNSET
    tags: Mapping[str, str | None] | _Unset = UNSET
    summary_metrics: Mapping[str, Any] | _Unset = UNSET
    started_at: datetime | _Unset | None = UNSET
    completed_at: datetime | _Unset | None = UNSET


def require_open(run: Any, field: str) -> None:
    """A run is logged as it goes (folds, predictions) only until it is final: then a 409 naming its status."""
    if run.status.value in FINAL:
        raise Conflict(
            f"run is {run.status.value}: its {field} no longer change", {"status": run.status.value, "field": field}
        )


def merge_folds(run: Any, folds: list[Any]) -> None:
    """Adds folds to an open run, a fold with a number already there replacing it (409 once it is final)."""
    require_open(run, "folds")
    numbers = [fold.fold_number for fold in folds]
    if len(numbers) != len(set(numbers)):
        raise InvalidInput("fold_number must be unique within a request", {"field": "folds"})
    kept = [fold for fold in run.folds if fold.fold_number not in set(numbers)]
    run.folds = sorted([*kept, *folds], key=lambda fold: fold.fold_number)


def apply_update(kind: str, record: RecordDetails, update: Update, now: datetime) -> bool:
    """Applies `update` to a run or simulation in place; True when anything changed."""
    before = (record.status, record.name, record.notes, dict(record.tags), dict(record.summary_metrics))
    before_times = (record.started_at, record.completed_at)
    if not isinstance(update.status, _Unset) and check_move(kind, str(record.status.value), update.status):
        record.status = RecordStatus(update.status)
        if update.status in FINAL and isinstance(update.completed_at, _Unset) and record.completed_at is None:
            record.completed_at = now
    if not isinstance(update.name, _Unset):
        record.name = check_name(update.name)
    if not isinstance(update.notes, _Unset):
        record.notes = check_notes(update.notes)
    if not isinstance(update.tags, _Unset):
        record.tags = check_tags(merged(record.tags, update.tags))
    if not isinstance(update.summary_metrics, _Unset):
        record.summary_metrics = merged(record.summary_metrics, update.summary_metrics)
    if not isinstance(update.started_at, _Unset):
        record.started_at = update.started_at
    if not isinstance(update.completed_at, _Unset):
        record.completed_at = update.completed_at
    after = (record.status, record.name, record.notes, dict(record.tags), dict(record.summary_metrics))
    return after != before or (record.started_at, record.completed_at) != before_times
