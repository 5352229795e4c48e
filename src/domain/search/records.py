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


def _key(source: Any, key: str) -> Any:
    return source.get(key) if isinstance(source, dict) else None


@dataclass(frozen=True, slots=True)
class RunRecord:
    run: WalkforwardRun
    dataset: DatasetFacts = field(default_factory=DatasetFacts)

    @property
    def ident(self) -> UUID:
        return self.run.run_id

    @property
    def created_at(self) -> datetime:
        return self.run.created_at

    def value(self, ref: FieldRef) -> Any:
        head, *rest = ref.path
        if head == "dataset":
            return getattr(self.dataset, rest[0])
        if head == "fold_count":
            return self.run.fold_count
        if rest:
            return _key(getattr(self.run, head, None), rest[0])
        return _scalar(getattr(self.run, head, None))


@dataclass(frozen=True, slots=True)
class SimulationRecord:
    simulation: Simulation
    dataset: DatasetFacts = field(default_factory=DatasetFacts)
    run_metrics: dict[str, Any] = field(default_factory=dict)
    run_params: dict[str, Any] = field(default_factory=dict)

    @property
    def ident(self) -> UUID:
        return self.simulation.simulation_id

    @property
    def created_at(self) -> datetime:
        return self.simulation.created_at

    def value(self, ref: FieldRef) -> Any:
        head, *rest = ref.path
        if head == "dataset":
            return getattr(self.dataset, rest[0])
        if head == "run":
            source = self.run_metrics if rest[0] == "summary_metrics" else self.run_params
            return _key(source, rest[1])
        if head == "buckets":
            bucket = next((b for b in self.simulation.trade_buckets if b.bucket == rest[0]), None)
            return None if bucket is None else getattr(bucket, rest[1])
        if rest:
            return _key(getattr(self.simulation, head, None), rest[0])
        return _scalar(getattr(self.simulation, head, None))


Record = RunRecord | SimulationRecord
