"""Rows to domain objects on the read path: JSON columns decode as `json.loads` does, and entities take
each field from its same-named column whatever the column order, converted, with `extra` winning."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

from hypothesis import given
from hypothesis import strategies as st

from adapters.sql.engine import json_loads
from adapters.sql.mapping import entity

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@given(json_values)
def test_json_columns_read_back_what_json_loads_reads(value: Any) -> None:
    text = json.dumps(value)
    assert json_loads(text) == json.loads(text)
    assert json_loads(text.encode()) == json.loads(text)


def test_json_the_fast_decoder_refuses_still_reads_as_json_loads_reads_it() -> None:
    assert json_loads('{"big": 1e400, "small": -1e400}') == {"big": math.inf, "small": -math.inf}
    assert json_loads('"\\ud800"') == "\ud800"
    assert json_loads("[NaN]")[0] != json_loads("[NaN]")[0]


@dataclass
class Item:
    ident: UUID
    label: str
    seen_at: datetime
    scores: dict[str, float]
    note: str | None = None
    parts: list[int] = field(default_factory=list)


@given(st.permutations(["ident", "label", "seen_at", "scores", "note", "other"]), st.booleans())
def test_an_entity_takes_each_field_from_its_column_in_any_order(order: list[str], with_extra: bool) -> None:
    ident = uuid4()
    source = {
        "ident": str(ident),  # a driver's own UUID type arrives as something else than uuid.UUID
        "label": "a",
        "seen_at": datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=2))),
        "scores": {"sharpe": 1.5},
        "note": None,
        "other": "not a field",
    }
    row = {name: source[name] for name in order}
    extra = {"label": "given", "parts": [1, 2]} if with_extra else {}
    item = entity(Item, row, **extra)
    assert item.ident == ident and isinstance(item.ident, UUID)
    assert item.seen_at == datetime(2026, 1, 1, 10, tzinfo=UTC) and item.seen_at.tzinfo is UTC
    assert item.scores == {"sharpe": 1.5} and item.scores is not source["scores"]
    assert item.note is None
    assert (item.label, item.parts) == (("given", [1, 2]) if with_extra else ("a", []))


def test_a_field_the_row_lacks_keeps_its_default() -> None:
    item = entity(Item, {"ident": uuid4(), "label": "b", "seen_at": datetime(2026, 1, 1), "scores": {}})
    assert item.note is None and item.parts == []
    assert item.seen_at.tzinfo is UTC
