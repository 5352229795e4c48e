from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.paging import MAX_LIMIT, Cursor, PageRequest

moments = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC))


@given(moments, st.text(min_size=1, max_size=60))
def test_a_cursor_survives_encoding_and_decoding(moment: datetime, key: str) -> None:
    cursor = Cursor(moment, key)
    token = cursor.encode()
    assert "=" not in token and "/" not in token and "+" not in token
    assert Cursor.decode(token) == cursor


@given(st.text(max_size=200))
def test_any_text_that_is_not_a_cursor_is_a_clean_400(text: str) -> None:
    try:
        Cursor.decode(text)
    except InvalidInput as exc:
        assert exc.details == {"field": "after"}


@given(st.integers(min_value=1, max_value=MAX_LIMIT), st.integers(min_value=0, max_value=10**9))
def test_limits_and_offsets_in_range_are_taken_as_given(limit: int, offset: int) -> None:
    page = PageRequest.of(limit, offset)
    assert (page.limit, page.offset, page.after) == (limit, offset, None)


@pytest.mark.parametrize("limit", [0, -1, MAX_LIMIT + 1])
def test_a_limit_outside_one_to_a_thousand_is_refused(limit: int) -> None:
    with pytest.raises(InvalidInput):
        PageRequest.of(limit)


def test_the_default_page_is_fifty_from_the_start() -> None:
    assert PageRequest.of() == PageRequest(50, 0, None)


def test_offset_and_cursor_together_are_refused() -> None:
    token = Cursor(datetime.now(UTC) - timedelta(days=1), "x").encode()
    with pytest.raises(InvalidInput):
        PageRequest.of(10, 5, token)
