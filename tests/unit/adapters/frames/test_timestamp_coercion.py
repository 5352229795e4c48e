"""Time coercion: the scalar rules of domain.values and the vectorized ones of adapters.frames agree."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.frames.positions import Position
from adapters.frames.timestamps import coerce_time_array, format_time_array
from domain.errors import InvalidInput
from domain.values import (
    TimestampUnit,
    coerce_timestamp,
    detect_unit,
    format_nanos,
    iso_from_nanos,
    parse_iso,
)

SECOND = 10**9
# 1973-03-03 (where seconds reach 1e8) .. 2200-01-01: every unit's magnitude band is unambiguous here.
LOW_S = int(datetime(1973, 3, 4, tzinfo=UTC).timestamp())
HIGH_S = int(datetime(2200, 1, 1, tzinfo=UTC).timestamp())
PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}

LINE_2 = Position("line", 2)


def vectorized(values: Sequence[object], type_: pa.DataType | None = None) -> list[int | None]:
    array = pa.array(values, type_) if type_ is not None else pa.array(values)
    coerced = coerce_time_array(array, "timestamp", LINE_2, required=False)
    assert coerced.type == pa.timestamp("ns")
    result: list[int | None] = coerced.cast(pa.int64()).to_pylist()
    return result


epochs_in_any_unit = st.sampled_from(list(PER_SECOND)).flatmap(
    lambda unit: st.tuples(st.just(unit), st.integers(LOW_S * PER_SECOND[unit], HIGH_S * PER_SECOND[unit]))
)

# ---------------------------------------------------------------- the scalar domain rules


@pytest.mark.parametrize(
    ("value", "unit"),
    [
        (0, TimestampUnit.S),
        (10**11 - 1, TimestampUnit.S),
        (10**11, TimestampUnit.MS),
        (10**14 - 1, TimestampUnit.MS),
        (10**14, TimestampUnit.US),
        (10**17 - 1, TimestampUnit.US),
        (10**17, TimestampUnit.NS),
        (-(10**11) + 1, TimestampUnit.S),
        (1_700_000_000.5, TimestampUnit.S),
        (1_700_000_000_000, TimestampUnit.MS),
    ],
)
def test_detect_unit_reads_the_unit_from_the_magnitude_band(value: int, unit: TimestampUnit) -> None:
    assert detect_unit(value) is unit


@settings(max_examples=100)
@given(epochs_in_any_unit)
def test_any_epoch_from_1973_to_2200_is_detected_in_the_unit_it_was_written_in(case: tuple[str, int]) -> None:
    unit, value = case
    assert detect_unit(value) == TimestampUnit(unit)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-01T00:00:00Z", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-01-01T00:00:00z", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-01-01T02:00:00+02:00", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2023-12-31T19:30:00-04:30", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-01-01 00:00:00", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-01-01", datetime(2024, 1, 1, tzinfo=UTC)),
        ("  2024-01-01T00:00:00.250000Z ", datetime(2024, 1, 1, 0, 0, 0, 250_000, tzinfo=UTC)),
    ],
)
def test_parse_iso_honours_offsets_and_reads_naive_times_as_utc(text: str, expected: datetime) -> None:
    assert parse_iso(text) == int(expected.timestamp()) * SECOND + expected.microsecond * 1_000


def test_parse_iso_refuses_text_that_is_not_a_time() -> None:
    with pytest.raises(InvalidInput):
        parse_iso("yesterday")


@settings(max_examples=100)
@given(st.integers(-(2 * 10**18), 9 * 10**18))
def test_iso_text_of_any_instant_parses_back_to_it_at_microsecond_precision(nanos: int) -> None:
    micros_precise = nanos - nanos % 1_000
    assert parse_iso(iso_from_nanos(nanos)) == micros_precise
    assert iso_from_nanos(nanos).endswith("Z")


def test_coerce_timestamp_takes_numbers_digit_strings_and_iso_text() -> None:
    expected = 1_700_000_000 * SECOND
    for value in (1_700_000_000, 1_700_000_000_000, "1700000000000000", 1.7e18, "2023-11-14T22:13:20Z"):
        assert coerce_timestamp(value) == expected


def test_coerce_timestamp_refuses_booleans_and_non_finite_numbers() -> None:
    for value in (True, float("nan"), float("inf")):
        with pytest.raises(InvalidInput):
            coerce_timestamp(value)


# ---------------------------------------------------------------- vectorized == scalar


@settings(max_examples=100, deadline=None)
@given(epochs_in_any_unit)
def test_a_column_of_integer_epochs_coerces_like_the_scalar_rule(case: tuple[str, int]) -> None:
    _, value = case
    assert vectorized([value]) == [coerce_timestamp(value)]


@settings(max_examples=100, deadline=None)
@given(st.lists(epochs_in_any_unit.map(lambda case: case[1]), min_size=1, max_size=30))
def test_a_column_mixing_units_decides_each_value_by_its_own_magnitude(values: list[int]) -> None:
    assert vectorized(values) == [coerce_timestamp(value) for value in values]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(epochs_in_any_unit, st.floats(0, 1)).map(lambda case: case[0][1] + case[1]),
        min_size=1,
        max_size=20,
    )
)
def test_a_column_of_float_epochs_coerces_like_the_scalar_rule(values: list[float]) -> None:
    assert vectorized(values) == [coerce_timestamp(value) for value in values]


@settings(max_examples=100, deadline=None)
@given(
    st.integers(LOW_S * 10**6, HIGH_S * 10**6),
    st.integers(-14 * 60, 14 * 60).map(lambda minutes: minutes - minutes % 15),
    st.sampled_from(["T", " "]),
)
def test_iso_text_with_any_offset_coerces_like_parse_iso(micros: int, offset_minutes: int, sep: str) -> None:
    zone = timezone(timedelta(minutes=offset_minutes))
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    text = moment.astimezone(zone).isoformat(sep=sep)
    assert vectorized([text]) == [parse_iso(text)] == [micros * 1_000]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(LOW_S * 10**6, HIGH_S * 10**6), min_size=1, max_size=20))
def test_iso_text_written_by_the_service_round_trips_through_the_vectorized_parser(
    micros: list[int],
) -> None:
    texts = [iso_from_nanos(value * 1_000) for value in micros]
    assert vectorized(texts) == [value * 1_000 for value in micros]


def test_a_text_column_mixing_every_accepted_form_coerces_value_by_value() -> None:
    values = [
        "2024-01-01T00:00:00Z",
        "2024-01-01T01:00:00+01:00",
        "2024-01-01 00:00:00",
        "1704067200",
        "1704067200000",
        "1704067200.0",
        " 2024-01-01T00:00:00.000000Z ",
        None,
    ]
    expected = [1_704_067_200 * SECOND] * 7 + [None]
    assert vectorized(values) == expected


def test_nanosecond_digits_in_iso_text_are_kept() -> None:
    assert vectorized(["2024-01-01T00:00:00.123456789Z"]) == [1_704_067_200 * SECOND + 123_456_789]


def test_zoned_arrow_timestamps_keep_their_instant_and_lose_only_the_zone() -> None:
    array = pa.array([0, 1_000], pa.timestamp("ms", "Europe/Paris"))
    coerced = coerce_time_array(array, "timestamp", LINE_2, required=True)
    assert coerced.type == pa.timestamp("ns")
    assert coerced.cast(pa.int64()).to_pylist() == [0, 1_000_000_000]


def test_dates_become_midnight_utc() -> None:
    assert vectorized([datetime(2024, 1, 1).date()], pa.date32()) == [1_704_067_200 * SECOND]


def test_a_blank_required_time_is_a_400_naming_its_line() -> None:
    array = pa.array(["2024-01-01", "2024-01-02", None])
    with pytest.raises(InvalidInput) as caught:
        coerce_time_array(array, "timestamp", LINE_2, required=True)
    assert caught.value.details == {"row": 3, "line": 4, "column": "timestamp"}


def test_text_that_is_no_time_is_a_400_naming_its_line_and_value() -> None:
    array = pa.array(["2024-01-01", "2024-01-02", "2024-01-03", "soon"])
    with pytest.raises(InvalidInput) as caught:
        coerce_time_array(array, "timestamp", Position("line", 10), required=True)
    assert caught.value.details == {"row": 12, "line": 13, "column": "timestamp", "value": "soon"}


def test_non_finite_float_epochs_are_a_400_naming_their_row() -> None:
    array = pa.array([1.7e9, float("nan")])
    with pytest.raises(InvalidInput) as caught:
        coerce_time_array(array, "entry_timestamp", Position("row", 0), required=False)
    assert caught.value.details["row"] == 1


def test_seconds_too_large_for_nanoseconds_are_a_400_not_an_overflow() -> None:
    with pytest.raises(InvalidInput) as caught:
        vectorized([1_700_000_000, 99_999_999_999])
    assert caught.value.details["line"] == 3


# ---------------------------------------------------------------- output units


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(-(2 * 10**18), 9 * 10**18), min_size=1, max_size=20),
    st.sampled_from(["s", "ms", "us", "ns", "iso"]),
)
def test_output_in_every_ts_unit_matches_format_nanos(nanos: list[int], unit: str) -> None:
    array = pa.array(nanos, pa.timestamp("ns"))
    assert format_time_array(array, unit).to_pylist() == [format_nanos(value, unit) for value in nanos]


def test_output_keeps_nulls_and_reads_coarser_timestamp_types() -> None:
    array = pa.array([1_700_000_000_123, None], pa.timestamp("ms", "UTC"))
    assert format_time_array(array, "s").to_pylist() == [1_700_000_000, None]
    assert format_time_array(array, "iso").to_pylist() == ["2023-11-14T22:13:20.123000Z", None]
