import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.values import MeasurementName, Slug, validate_granularity

SLUG = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@given(st.from_regex(SLUG, fullmatch=True))
def test_every_slug_the_contract_allows_is_accepted_and_makes_valid_measurement_names(text: str) -> None:
    slug = Slug(text)
    assert slug == text
    for suffix in ("_ohlcv", "_ind", "_wf_20251110120000", "_sim_20251110120000_99"):
        assert MeasurementName(f"{slug}{suffix}") == f"{slug}{suffix}"


@given(st.text(max_size=80))
def test_a_slug_is_accepted_exactly_when_it_matches_the_contract_pattern(text: str) -> None:
    if SLUG.fullmatch(text):
        assert Slug(text) == text
    else:
        with pytest.raises(InvalidInput) as caught:
            Slug(text)
        assert caught.value.details["field"] == "dataset_slug"


@given(st.text(max_size=140))
def test_a_measurement_name_is_accepted_exactly_when_it_matches_the_contract_pattern(text: str) -> None:
    ok = re.fullmatch(r"[a-z][a-z0-9_]{0,126}", text) is not None
    if ok:
        assert MeasurementName(text) == text
    else:
        with pytest.raises(InvalidInput):
            MeasurementName(text)


@pytest.mark.parametrize("name", ["x; DROP TABLE t", "Upper", "1abc", "a" * 128, "a-b", "a b", "", "é"])
def test_names_that_could_smuggle_sql_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput):
        MeasurementName(name)


@pytest.mark.parametrize("value", ["1h", "4h", "15m", "1d", "1w", "30s"])
def test_usual_granularities_are_accepted(value: str) -> None:
    assert validate_granularity(value) == value


@pytest.mark.parametrize("value", ["", "h", "0h", "1 h", "1x", "99999h", "1h; drop"])
def test_malformed_granularities_are_refused(value: str) -> None:
    with pytest.raises(InvalidInput):
        validate_granularity(value)
