"""The in-memory tables behind the fakes: committed rows overlaid with a unit of work's staged ones.

Entities are mutable, so a table keeps and hands out copies: changing a returned object never changes
what is stored.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from uuid import UUID

from application.ports import NameReservation
from domain.errors import Conflict, InvalidInput, NotFound
from domain.paging import Cursor, Page, PageRequest
from domain.simulations import Trade
from domain.versions import DatasetVersion

if TYPE_CHECKING:
    from adapters.memory.metadata import InMemoryMetadata

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")


def _deep(value: V) -> V:
    return copy.deepcopy(value)


def _same(value: V) -> V:
    return value


class Table(Generic[K, V]):
    """One table as one unit of work sees it: the shared committed rows overlaid with its own."""

    def __init__(
        self,
        name: str,
        committed: dict[K, V],
        unique: dict[str, Callable[[V], Hashable]] | None = None,
        copier: Callable[[V], V] = _deep,
    ) -> None:
        self._name = name
        self._committed = committed
        self._unique = unique or {}
        self._copy = copier
        self._staged: dict[K, V] = {}
        self._inserted: set[K] = set()
        self._deleted: set[K] = set()

    def rows(self) -> dict[K, V]:
        """The visible rows, uncopied: callers only read them."""
        rows = {**self._committed, **self._staged}
        for key in self._deleted:
            rows.pop(key, None)
        return rows

    def get(self, key: K) -> V | None:
        if key in self._deleted:
            return None
        value = self._staged[key] if key in self._staged else self._committed.get(key)
        return None if value is None else self._copy(value)

    def find(self, predicate: Callable[[V], bool]) -> V | None:
        for value in self.rows().values():
            if predicate(value):
                return self._copy(value)
        return None

    def copy_of(self, value: V) -> V:
        return self._copy(value)

    def insert(self, key: K, value: V) -> None:
        if self._visible(key):
            raise Conflict(f"{self._name} {key} already exists", {"reason": "duplicate key"})
        self._check_unique(key, value, self.rows())
        self._staged[key] = self._copy(value)
        self._inserted.add(key)
        self._deleted.discard(key)

    def update(self, key: K, value: V) -> None:
        if not self._visible(key):
            raise NotFound(f"{self._name} {key} does not exist")
        self._check_unique(key, value, self.rows())
        self._staged[key] = self._copy(value)

    def _visible(self, key: K) -> bool:
        return key not in self._deleted and (key in self._staged or key in self._committed)

    def delete(self, key: K) -> None:
        self._staged.pop(key, None)
        self._inserted.discard(key)
        self._deleted.add(key)

    def check_commit(self) -> None:
        """What the database would refuse at commit: rows another unit committed meanwhile."""
        for key in self._inserted:
            if key in self._committed and key not in self._deleted:
                raise Conflict(f"{self._name} {key} already exists", {"reason": "duplicate key"})
        for key, value in self._staged.items():
            self._check_unique(key, value, self._committed)

    def apply(self) -> None:
        for key in self._deleted:
            self._committed.pop(key, None)
        self._committed.update(self._staged)
        self.discard()

    def discard(self) -> None:
        self._staged.clear()
        self._inserted.clear()
        self._deleted.clear()

    def _check_unique(self, key: K, value: V, against: dict[K, V]) -> None:
        for column, extract in self._unique.items():
            wanted = extract(value)
            if wanted is None:
                continue
            for other_key, other in against.items():
                if other_key != key and extract(other) == wanted:
                    raise Conflict(f"{self._name} {column} {wanted!r} is taken", {"reason": f"duplicate {column}"})


class Tables:
    """The overlaid tables of one unit of work."""

    def __init__(self, state: InMemoryMetadata) -> None:
        self.datasets = Table("dataset", state.datasets, {"dataset_slug": lambda d: str(d.dataset_slug)})
        self.runs = Table("run", state.runs)
        self.simulations = Table("simulation", state.simulations)
        self.trades: Table[UUID, tuple[Trade, ...]] = Table("trades", state.trades, copier=_same)
        self.jobs = Table("job", state.jobs)
        self.idempotency = Table("idempotency record", state.idempotency, copier=_same)
        self.tokens = Table("token", state.tokens, {"token_hash": lambda token: token.token_hash})
        self.measurement_names: Table[str, NameReservation] = Table(
            "measurement name", state.measurement_names, copier=_same
        )
        self.versions: Table[tuple[UUID, int], DatasetVersion] = Table("dataset version", state.versions, copier=_same)

    def all(self) -> tuple[Table[Any, Any], ...]:
        return tuple(table for table in vars(self).values() if isinstance(table, Table))

    def measurement_taken(self, measurement: str) -> bool:
        return (
            any(run.prediction_measurement == measurement for run in self.runs.rows().values())
            or any(sim.trades_measurement == measurement for sim in self.simulations.rows().values())
            or any(measurement in (d.ohlcv_measurement, d.indicator_measurement) for d in self.datasets.rows().values())
        )


def _uuid_key(cursor: Cursor) -> UUID:
    try:
        return UUID(cursor.key)
    except ValueError as exc:
        raise InvalidInput("after is not a cursor for this list", {"field": "after"}) from exc


def newest_first(
    items: Iterable[V],
    created: Callable[[V], datetime],
    ident: Callable[[V], UUID],
    page: PageRequest,
    present: Callable[[V], T],
) -> Page[T]:
    ordered = sorted(items, key=lambda item: (created(item), ident(item)), reverse=True)
    total = len(ordered)
    if page.after is not None:
        mark = (page.after.created_at, _uuid_key(page.after))
        ordered = [item for item in ordered if (created(item), ident(item)) < mark]
    window = ordered[page.offset : page.offset + page.limit + 1]
    kept = window[: page.limit]
    more = len(window) > page.limit
    next_cursor = Cursor(created(kept[-1]), str(ident(kept[-1]))).encode() if more and kept else None
    return Page([present(item) for item in kept], total, page.limit, page.offset, next_cursor)


def contains(haystack: str | None, needle: str) -> bool:
    return haystack is not None and needle.lower() in haystack.lower()
