"""The lockout policy: free failures, then a wait that doubles with each further failure up to a ceiling,
forgotten a while after the last one; and the per-minute count of tries."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.lockout import Attempts, LockoutPolicy, after_try, window_left

# failures sent in a row -> the lockout in force after the last one (locked at the 3rd, 10 s first lockout)
DOUBLING = [(1, 0.0), (2, 0.0), (3, 10.0), (4, 20.0), (5, 40.0), (6, 80.0), (12, 3600.0), (40, 3600.0)]
NOW = 1_700_000_000.0


def failures(policy: LockoutPolicy, count: int, now: float = NOW, record: Attempts | None = None) -> Attempts:
    record = record or Attempts()
    for _ in range(count):
        record = policy.after_failure(record, now)
    return record


@pytest.mark.parametrize(("count", "wait"), DOUBLING)
def test_each_failure_past_the_free_ones_doubles_the_lockout_up_to_an_hour(count: int, wait: float) -> None:
    assert failures(LockoutPolicy(3, 10.0), count).wait(NOW) == wait


def test_a_lockout_ends_and_old_failures_are_forgotten() -> None:
    policy = LockoutPolicy(2, 10.0)
    record = failures(policy, 2)
    assert record.wait(NOW + 10.0) == 0.0
    record = policy.after_failure(record, NOW + 10.0)
    assert record.wait(NOW + 10.0) == 20.0  # still remembered: the next lockout doubles
    later = NOW + 10.0 + 20.0 + 901.0
    assert policy.after_failure(record, later).wait(later) == 0.0  # forgotten: a free failure again


@given(lock_after=st.integers(1, 10), first=st.floats(0.1, 600), count=st.integers(0, 60))
def test_the_wait_never_shrinks_and_never_passes_the_ceiling(lock_after: int, first: float, count: int) -> None:
    policy, record, waits = LockoutPolicy(lock_after, first), Attempts(), []
    for _ in range(count):
        record = policy.after_failure(record, NOW)
        waits.append(record.wait(NOW))
    assert waits == sorted(waits)
    assert all(0.0 <= wait <= max(3600.0, first) for wait in waits)
    assert sum(1 for wait in waits if wait == 0.0) == min(lock_after - 1, count)


@given(offsets=st.lists(st.floats(0, 600), max_size=40))
def test_tries_count_only_within_their_minute(offsets: list[float]) -> None:
    record, times = Attempts(), [NOW + offset for offset in sorted(offsets)]
    for index, now in enumerate(times):
        record = after_try(record, now)
        assert record.tries == sum(1 for earlier in times[: index + 1] if earlier // 60 == now // 60)
        assert 0 < window_left(now) <= 60
