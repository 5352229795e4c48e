"""The fields a search may name, per entity, and the type each one compares as.

A field is a dotted name on the wire (`metrics.sharpe`) and a `path` for the stores: the first element
names a column or a joined source, the rest a key inside it. Adapters translate paths; nothing else does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class ValueType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    BOOLEAN = "boolean"
    TIME = "time"
    ID = "id"
    JSON = "json"  # a key inside a JSON object: its type is whatever the stored value is


@dataclass(frozen=True, slots=True)
class FieldRef:
    name: str
    path: tuple[str, ...]
    type: ValueType


KEY = re.compile(r"^[A-Za-z0-9_]{1,128}$")
BUCKETS = ("all", "long", "short")
BUCKET_FIELDS = (
    "trade_count",
    "win_count",
    "loss_count",
    "total_pnl",
    "avg_pnl",
    "avg_return_pct",
    "max_win",
    "max_loss",
)


@dataclass(frozen=True, slots=True)
class Catalog:
    """Fixed fields by name, JSON groups by prefix (`params.` -> the `hyperparameters` object)."""

    entity: str
    fixed: Mapping[str, FieldRef]
    groups: Mapping[str, tuple[str, ...]]
    with_buckets: bool = False

    def resolve(self, name: str) -> FieldRef | None:
        if name in self.fixed:
            return self.fixed[name]
        for prefix, path in self.groups.items():
            if name.startswith(prefix + "."):
                key = name[len(prefix) + 1 :]
                return FieldRef(name, (*path, key), ValueType.JSON) if KEY.match(key) else None
        if self.with_buckets:
            parts = name.split(".")
            if len(parts) == 3 and parts[0] == "buckets" and parts[1] in BUCKETS and parts[2] in BUCKET_FIELDS:
                return FieldRef(name, ("buckets", parts[1], parts[2]), ValueType.NUMBER)
        return None

    def names(self) -> list[str]:
        """What an error lists as expected: every fixed name and every group as `prefix.<key>`."""
        extra = ["buckets.<all|long|short>.<bucket field>"] if self.with_buckets else []
        return [*self.fixed, *(f"{prefix}.<key>" for prefix in self.groups), *extra]


def _fixed(*fields: tuple[str, tuple[str, ...], ValueType]) -> dict[str, FieldRef]:
    return {name: FieldRef(name, path, kind) for name, path, kind in fields}


T, N, TM, ID = ValueType.TEXT, ValueType.NUMBER, ValueType.TIME, ValueType.ID

_DATASET = (
    ("dataset.slug", ("dataset", "slug"), T),
    ("dataset.symbol", ("dataset", "symbol"), T),
    ("dataset.granularity", ("dataset", "granularity"), T),
)
_COMMON = (
    ("name", ("name",), T),
    ("status", ("status",), T),
    ("created_at", ("created_at",), TM),
    ("started_at", ("started_at",), TM),
    ("completed_at", ("completed_at",), TM),
    ("stale", ("stale",), ValueType.BOOLEAN),
)

RUNS = Catalog(
    "runs",
    _fixed(
        ("run_id", ("run_id",), ID),
        *_COMMON,
        ("target_column", ("target_column",), T),
        ("fold_count", ("fold_count",), N),
        ("prediction_measurement", ("prediction_measurement",), T),
        *_DATASET,
    ),
    {
        "params": ("hyperparameters",),
        "walk": ("walk_config",),
        "metrics": ("summary_metrics",),
        "tags": ("tags",),
    },
)

SIMULATIONS = Catalog(
    "simulations",
    _fixed(
        ("simulation_id", ("simulation_id",), ID),
        *_COMMON,
        ("trade_count", ("trade_count",), N),
        ("trades_measurement", ("trades_measurement",), T),
        ("run_id", ("run_id",), ID),
        *_DATASET,
    ),
    {
        "config": ("config",),
        "metrics": ("summary_metrics",),
        "tags": ("tags",),
        "run.metrics": ("run", "summary_metrics"),
        "run.params": ("run", "hyperparameters"),
    },
    with_buckets=True,
)

# Not in the public catalogs: the old list filters (`?dataset_id=`) become conditions on these.
DATASET_ID = FieldRef("dataset_id", ("dataset_id",), ID)
RUN_ID = FieldRef("run_id", ("run_id",), ID)
