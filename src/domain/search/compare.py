"""Side-by-side tables for comparing runs or simulations: one list per key, one value per item."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from domain.errors import InvalidInput

MIN_COMPARED, MAX_COMPARED = 2, 20


def compared_ids(text: str | None) -> list[str]:
    """`ids=a,b,...`: 2 to 20 distinct ids, in the order asked."""
    ids = [part.strip() for part in (text or "").split(",") if part.strip()]
    if not MIN_COMPARED <= len(ids) <= MAX_COMPARED:
        raise InvalidInput(f"ids takes {MIN_COMPARED} to {MAX_COMPARED} ids", {"field": "ids", "count": len(ids)})
    if len(set(ids)) != len(ids):
        raise InvalidInput("ids names an id twice", {"field": "ids"})
    return ids


def table(documents: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Every key of any document, sorted, with each document's value (null where it lacks the key)."""
    keys = sorted({key for document in documents for key in document})
    return {key: [document.get(key) for document in documents] for key in keys}


def differing(columns: Mapping[str, list[Any]]) -> list[str]:
    """The keys whose values are not all the same (a missing key differs from a present one)."""
    return [key for key, values in columns.items() if any(_differs(values[0], value) for value in values[1:])]


def _differs(a: Any, b: Any) -> bool:
    # 1 and True, or 1 and 1.0, are told apart: a parameter given as 1 and as true is a difference.
    return type(a) is not type(b) or a != b
