"""A run or a simulation together with what its search fields read from elsewhere (dataset, run, buckets).

Every store hands search results back as these records, so the in-memory store, the projection of
`fields=` and the cursor all read a field through the one `value` method.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.runs import WalkforwardRun
from domain.search.fields import FieldRef
from domain.simulations import Simulation


@dataclass(frozen=True, slots=True)
class DatasetFacts:
    slug: str | None = None
    symbol: str | None = None
    granularity: str | None = None


def _scalar(value: Any) -> Any:
    # Enum members (statuses) and value objects (slugs, measurement names) compare as their text.
    if isinstance(value, str) and type(value) is not str:
        return str(value)
    return value


# What `_own` answers for a field the record does not add itself.
_ABSENT: Any = object()


def _key(source: Any, key: str) -> Any:
    return source.get(key) if isinstance(source, dict) else None


class _Searched:
    """How both records read a field: the dataset's facts, what the record adds (`_own`), or the entity's own."""

    __slots__ = ()
    dataset: DatasetFacts

    def _entity(self) -> WalkforwardRun | Simulation:
        raise NotImplementedError

    def _own(self, head: str, rest: list[str]) -> Any:
        return _ABSENT

    @property
    def created_at(self) -> datetime:
        return self._entity().created_at

    def value(self, ref: FieldRef) -> Any:
        head, *rest = ref.path
        if head == "dataset":
            return getattr(self.dataset, rest[0])
        own = self._own(head, rest)
        if own is not _ABSENT:
            return own
        if rest:
            return _key(getattr(self._entity(), head, None), rest[0])
        return _scalar(getattr(self._entity(), head, None))


@dataclass(frozen=True, slots=True)
class RunRecord(_Searched):
    run: WalkforwardRun
    dataset: DatasetFacts = field(default_factory=DatasetFacts)

    @property
    def ident(self) -> UUID:
        return self.run.run_id

    def _entity(self) -> WalkforwardRun:
        return self.run


@dataclass(frozen=True, slots=True)
class SimulationRecord(_Searched):
    simulation: Simulation
    dataset: DatasetFacts = field(default_factory=DatasetFacts)
    run_metrics: dict[str, Any] = field(default_factory=dict)
    run_params: dict[str, Any] = field(default_factory=dict)

    @property
    def ident(self) -> UUID:
        return self.simulation.simulation_id

    def _entity(self) -> Simulation:
        return self.simulation

    def _own(self, head: str, rest: list[str]) -> Any:
        if head == "run":
            return _key(self.run_metrics if rest[0] == "summary_metrics" else self.run_params, rest[1])
        if head == "buckets":
            bucket = next((b for b in self.simulation.trade_buckets if b.bucket == rest[0]), None)
            return None if bucket is None else getattr(bucket, rest[1])
        return _ABSENT


Record = RunRecord | SimulationRecord
