import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.gaps import Gap, find_gaps, granularity_seconds

HOUR = 3600


def runs_of_missing(kept: list[bool]) -> list[tuple[int, int]]:
    """(index of the bar before, bars missing) for each run of dropped bars between two kept ones."""
    runs: list[tuple[int, int]] = []
    last_kept: int | None = None
    for index, keep in enumerate(kept):
        if keep:
            if last_kept is not None and index - last_kept > 1:
                runs.append((last_kept, index - last_kept - 1))
            last_kept = index
    return runs


@given(
    start=st.integers(0, 2_000_000_000),
    interval=st.sampled_from([1, 60, 900, HOUR, 4 * HOUR, 86_400]),
    kept=st.lists(st.booleans(), min_size=0, max_size=300),
)
def test_every_run_of_dropped_bars_between_two_kept_bars_is_one_gap_of_its_size(
    start: int, interval: int, kept: list[bool]
) -> None:
    times = [start + i * interval for i, keep in enumerate(kept) if keep]
    report = find_gaps(times, interval)
    expected = runs_of_missing(kept)
    assert report.count == len(expected)
    assert report.missing_bars == sum(size for _, size in expected)
    assert {(g.after_ts, g.missing_bars) for g in report.largest} == {(start + i * interval, n) for i, n in expected}
    for gap in report.largest:
        assert gap.before_ts == gap.after_ts + (gap.missing_bars + 1) * interval


@given(
    times=st.lists(st.integers(0, 10**7), max_size=200),
    interval=st.integers(1, 5000),
    seed=st.randoms(use_true_random=False),
)
def test_order_and_repeated_bars_do_not_change_the_gaps(times: list[int], interval: int, seed: object) -> None:
    shuffled = times + times[: len(times) // 2]
    seed.shuffle(shuffled)  # type: ignore[attr-defined]
    assert find_gaps(shuffled, interval) == find_gaps(sorted(set(times)), interval)


@given(times=st.lists(st.integers(0, 10**6), max_size=200), interval=st.integers(1, 1000), keep=st.integers(0, 20))
def test_the_largest_gaps_come_first_and_at_most_keep_of_them(times: list[int], interval: int, keep: int) -> None:
    report = find_gaps(times, interval, keep=keep)
    full = find_gaps(times, interval, keep=10**6)
    assert len(report.largest) == min(keep, report.count)
    assert report.largest == full.largest[:keep]
    sizes = [gap.missing_bars for gap in full.largest]
    assert sizes == sorted(sizes, reverse=True)


def test_a_step_between_one_and_two_bars_hides_one_bar() -> None:
    assert find_gaps([0, HOUR + HOUR // 2], HOUR).largest == [Gap(0, HOUR + HOUR // 2, 1)]


def test_three_holes_in_an_hourly_series_are_three_gaps_with_their_sizes() -> None:
    hours = [h for h in range(48) if h not in (5, 10, 11, 30, 31, 32)]
    report = find_gaps([h * HOUR for h in hours], HOUR)
    assert (report.count, report.missing_bars) == (3, 6)
    assert [(g.after_ts // HOUR, g.missing_bars) for g in report.largest] == [(29, 3), (9, 2), (4, 1)]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1h", 3600),
        ("4h", 14_400),
        ("15m", 900),
        ("1d", 86_400),
        ("30s", 30),
        ("1w", 604_800),
        ("1M", None),
        ("1y", None),
    ],
)
def test_a_granularity_is_its_bar_length_in_seconds_except_calendar_units(text: str, seconds: int | None) -> None:
    assert granularity_seconds(text) == seconds


def test_a_malformed_granularity_is_refused() -> None:
    with pytest.raises(InvalidInput):
        granularity_seconds("1hour")
