"""Walk-forward rules: folds never train on their own test window, predictions name declared folds, and
predictions outside their fold's test window are counted. Bounds are inclusive bar indexes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.fold_checks import (
    PredictionCheck,
    bars_without_times,
    check_folds,
    embargo_bars,
    fill_times,
    leaking_folds,
)
from domain.runs import Fold, RunDetails

bounds = st.integers(min_value=0, max_value=60)


@st.composite
def folds(draw: st.DrawFn) -> Fold:
    train_start, test_start = draw(bounds), draw(bounds)
    return Fold(
        fold_number=draw(st.integers(0, 5)),
        train_start=train_start,
        train_end=train_start + draw(st.integers(0, 20)),
        test_start=test_start,
        test_end=test_start + draw(st.integers(0, 20)),
    )


@given(fold=folds(), embargo=st.integers(0, 10))
def test_a_fold_leaks_exactly_when_a_test_bar_lies_within_the_embargo_after_its_last_train_bar(
    fold: Fold, embargo: int
) -> None:
    assert fold.train_end is not None and fold.test_start is not None and fold.test_end is not None
    test_bars = range(fold.test_start, fold.test_end + 1)
    # Bar by bar: every test bar must come more than `embargo` bars after the last bar trained on.
    brute = any(bar - fold.train_end <= embargo for bar in test_bars)
    assert (leaking_folds([fold], embargo) == [fold.fold_number]) is brute


def test_adjacent_windows_are_clean_without_an_embargo_and_leak_with_one() -> None:
    fold = Fold(fold_number=1, train_start=0, train_end=99, test_start=100, test_end=119)
    assert leaking_folds([fold], 0) == []
    assert leaking_folds([fold], 1) == [1]
    check_folds([fold], {})
    with pytest.raises(InvalidInput) as caught:
        check_folds([fold], {"embargo_bars": 5})
    assert caught.value.details == {"field": "folds", "fold_numbers": [1], "embargo_bars": 5}


def test_a_fold_without_both_bounds_is_not_judged() -> None:
    assert leaking_folds([Fold(fold_number=1, train_end=50), Fold(fold_number=2, test_start=10)], 0) == []


@pytest.mark.parametrize("value", [-1, 1.5, "3", True, [1]])
def test_an_embargo_that_is_not_a_whole_number_of_bars_is_refused(value: object) -> None:
    with pytest.raises(InvalidInput):
        embargo_bars({"embargo_bars": value})


def test_repeated_fold_numbers_are_refused_by_name() -> None:
    with pytest.raises(InvalidInput) as caught:
        RunDetails(folds=[Fold(fold_number=n) for n in (1, 2, 2, 3, 3)])
    assert caught.value.details == {"field": "folds", "fold_numbers": [2, 3]}


predictions = st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 80)), st.integers(0, 7)), max_size=60)


@given(rows=predictions, declared=st.lists(folds(), max_size=4), cut=st.integers(0, 60))
def test_predictions_are_judged_the_same_however_they_arrive_in_batches(
    rows: list[tuple[int | None, int]], declared: list[Fold], cut: int
) -> None:
    by_number = {fold.fold_number: fold for fold in declared}
    whole, split = PredictionCheck(list(by_number.values())), PredictionCheck(list(by_number.values()))
    whole.see([bar for bar, _ in rows], [fold for _, fold in rows])
    for part in (rows[:cut], rows[cut:]):
        split.see([bar for bar, _ in part], [fold for _, fold in part])

    outside = [
        {"bar_index": bar, "fold_number": number}
        for bar, number in rows
        if number in by_number
        and bar is not None
        and not (by_number[number].test_start or 0) <= bar <= (by_number[number].test_end or 0)
    ]
    undeclared = {number for _, number in rows if number not in by_number} if by_number else set()
    for check in (whole, split):
        assert check.report() == {"predictions_outside_test_window": len(outside), "examples": outside[:10]}
        assert check.undeclared == undeclared


def test_predictions_for_a_fold_the_run_does_not_declare_are_refused_naming_every_such_fold() -> None:
    check = PredictionCheck([Fold(fold_number=1, test_start=10, test_end=19)])
    check.see([10, 11, 12, 13], [1, 7, 9, 7])
    with pytest.raises(InvalidInput) as caught:
        check.refuse_undeclared()
    assert caught.value.details == {"field": "predictions", "fold_numbers": [7, 9]}


def test_a_run_without_declared_folds_takes_predictions_for_any_fold() -> None:
    check = PredictionCheck([])
    check.see([1, 2], [3, 4])
    check.refuse_undeclared()
    assert check.report() == {"predictions_outside_test_window": 0, "examples": []}


def test_a_later_save_adds_to_what_earlier_saves_found() -> None:
    check = PredictionCheck([Fold(fold_number=1, test_start=10, test_end=19)])
    check.see([5, 25], [1, 1])
    earlier = {"predictions_outside_test_window": 9, "examples": [{"bar_index": n, "fold_number": 1} for n in range(9)]}
    report = check.report(earlier)
    assert report["predictions_outside_test_window"] == 11
    assert report["examples"][-1] == {"bar_index": 5, "fold_number": 1} and len(report["examples"]) == 10


def test_empty_fold_times_are_filled_from_their_bars_and_given_ones_are_kept() -> None:
    fold = Fold(fold_number=1, train_start=0, train_end=9, test_start=10, test_end=99, train_end_ts=123)
    assert bars_without_times([fold]) == {0, 10, 99}
    fill_times([fold], {0: 1000, 9: 9999, 10: 1010})  # bar 99 is past the dataset's end: left empty
    assert (fold.train_start_ts, fold.train_end_ts, fold.test_start_ts, fold.test_end_ts) == (1000, 123, 1010, None)
