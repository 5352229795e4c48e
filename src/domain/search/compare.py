"""Side-by-side tables for comparing runs or simulations: one list per key, one value per item."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from domain.errors import InvalidInput
from domain.lifecycle import RecordDetails

MIN_COMPARED, MAX_COMPARED = 2, 20

Compared = TypeVar("Compared", bound=RecordDetails)
SideBySide = dict[str, list[Any]]


@dataclass(frozen=True, slots=True)
class Comparison(Generic[Compared]):
    """Records side by side, in the order asked: how each was set up (a run's hyperparameters, a
    simulation's config) and the keys whose values differ, their summary metrics, and the metrics of
    their parts (a run's folds by number, a simulation's trade buckets by name)."""

    records: list[Compared]
    setup: SideBySide
    setup_differ: list[str]
    metrics: SideBySide
    parts: dict[str, SideBySide]


def side_by_side(
    records: list[Compared], setups: Sequence[Mapping[str, Any]], parts: Mapping[str, Sequence[Mapping[str, Any]]]
) -> Comparison[Compared]:
    """`setups` holds each record's setup, `parts` each part's metrics per record, both in the order of `records`."""
    setup = table(setups)
    metrics = table([record.summary_metrics for record in records])
    return Comparison(records, setup, differing(setup), metrics, {name: table(rows) for name, rows in parts.items()})


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
