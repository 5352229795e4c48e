"""Walk-forward rules: a fold never trains on its own test window, predictions name declared folds, and a
prediction outside its fold's test window is reported (stored all the same).

Fold bounds are inclusive bar indexes: 0-based rows of the dataset's bars in timestamp order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from domain.errors import InvalidInput
from domain.runs import Fold

EXAMPLES: Final = 10


def embargo_bars(walk_config: Mapping[str, Any]) -> int:
    """Bars that must lie between a fold's train end and its test start (`walk_config.embargo_bars`, else 0)."""
    value = walk_config.get("embargo_bars", 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value != int(value):
        raise InvalidInput(
            "walk_config.embargo_bars must be a whole number of bars, 0 or more", {"field": "walk_config.embargo_bars"}
        )
    return int(value)


def leaking_folds(folds: Iterable[Fold], embargo: int) -> list[int]:
    """Folds whose train window reaches into their own test window (checked where both bounds are given)."""
    return sorted(
        fold.fold_number
        for fold in folds
        if fold.train_end is not None
        and fold.test_start is not None
        and fold.test_start - fold.train_end - 1 < embargo
    )


def check_folds(folds: Sequence[Fold], walk_config: Mapping[str, Any]) -> None:
    """The fold rule of a run save (repeated numbers are refused by RunDetails itself): a 400 naming the
    folds that train on their own test window."""
    embargo = embargo_bars(walk_config)
    leaking = leaking_folds(folds, embargo)
    if leaking:
        raise InvalidInput(
            f"fold {_listed(leaking)} trains on its own test window "
            f"(test_start - train_end - 1 must be at least the embargo of {embargo} bars)",
            {"field": "folds", "fold_numbers": leaking, "embargo_bars": embargo},
        )


@dataclass(slots=True)
class PredictionCheck:
    """Predictions seen batch by batch against the run's folds: the ones outside their fold's test window are
    counted (first examples kept), the folds the run does not declare are collected."""

    folds: Sequence[Fold]
    outside: int = 0
    examples: list[dict[str, int]] = field(default_factory=list)
    undeclared: set[int] = field(default_factory=set)
    _windows: dict[int, tuple[int | None, int | None]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._windows = {fold.fold_number: (fold.test_start, fold.test_end) for fold in self.folds}

    def see(self, bar_indexes: Sequence[int | None], fold_numbers: Sequence[int | None]) -> None:
        windows = self._windows
        for bar_index, fold_number in zip(bar_indexes, fold_numbers, strict=True):
            if fold_number is None:
                continue
            window = windows.get(fold_number)
            if window is None:
                if windows:  # only a run that declares folds can have an undeclared one
                    self.undeclared.add(fold_number)
                continue
            start, end = window
            if bar_index is None or ((start is None or bar_index >= start) and (end is None or bar_index <= end)):
                continue  # inside its test window (a missing bound is not checked)
            self.outside += 1
            if len(self.examples) < EXAMPLES:
                self.examples.append({"bar_index": bar_index, "fold_number": fold_number})

    def refuse_undeclared(self) -> None:
        if self.undeclared:
            numbers = sorted(self.undeclared)
            raise InvalidInput(
                f"predictions name fold {_listed(numbers)}, which the run does not declare",
                {"field": "predictions", "fold_numbers": numbers[:100]},
            )

    def report(self, earlier: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The run's `checks`, adding to what earlier saves of the same run found."""
        outside = self.outside + int((earlier or {}).get("predictions_outside_test_window", 0))
        examples = [*list((earlier or {}).get("examples", [])), *self.examples][:EXAMPLES]
        return {"predictions_outside_test_window": outside, "examples": examples}


# Each bound of a fold and the field holding its bar's time (epoch seconds).
_TIME_FIELDS: Final = (
    ("train_start", "train_start_ts"),
    ("train_end", "train_end_ts"),
    ("test_start", "test_start_ts"),
    ("test_end", "test_end_ts"),
)


def bars_without_times(folds: Iterable[Fold]) -> set[int]:
    """Bar indexes of fold bounds whose `*_ts` the client left empty."""
    return {
        index
        for fold in folds
        for bound, time_field in _TIME_FIELDS
        if getattr(fold, time_field) is None and (index := getattr(fold, bound)) is not None and index >= 0
    }


def fill_times(folds: Iterable[Fold], bar_times: Mapping[int, int]) -> None:
    """Empty `*_ts` take the time of their bar, where the dataset has that bar; given ones are kept."""
    for fold in folds:
        for bound, time_field in _TIME_FIELDS:
            index = getattr(fold, bound)
            if getattr(fold, time_field) is None and index in bar_times:
                setattr(fold, time_field, bar_times[index])


def _listed(numbers: Sequence[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:20])
    return shown + (f" and {len(numbers) - 20} more" if len(numbers) > 20 else "")
