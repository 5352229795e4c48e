"""Column types and the column groups several tables share (`tables.py` lists the tables).

Each helper returns new objects: a SQLAlchemy column or index belongs to one table only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB


class UtcDateTime(TypeDecorator[datetime]):
    """`timestamptz` on Postgres; on SQLite, which has no zone, UTC text that comes back tz-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # A naive time is taken as UTC, the only zone this service writes.
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return moment.replace(tzinfo=None) if dialect.name == "sqlite" else moment

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def json_type(nullable: bool = False) -> Any:
    """JSONB on Postgres, JSON text elsewhere; a nullable column stores Python None as SQL NULL."""
    return JSON(none_as_null=nullable).with_variant(JSONB(none_as_null=nullable), "postgresql")


def autoincrement_bigint() -> Any:
    # SQLite only autoincrements a column declared exactly INTEGER PRIMARY KEY.
    return BigInteger().with_variant(Integer(), "sqlite")


def timestamps() -> list[Column[Any]]:
    return [
        Column("created_at", UtcDateTime(), nullable=False),
        Column("updated_at", UtcDateTime(), nullable=False),
    ]


def labels() -> list[Column[Any]]:
    """What a person gives a run or a simulation to find it again: a name, tags, notes."""
    return [
        Column("name", String(200)),
        Column("tags", json_type(), nullable=False, server_default=text("'{}'")),
        Column("notes", Text()),
    ]


def frame_stats() -> list[Column[Any]]:
    """A dataset's row counts and time bounds per frame (`FrameStats`), as it is and in each of its versions."""
    return [
        Column("ohlcv_rows", BigInteger(), nullable=False, server_default=text("0")),
        Column("indicator_rows", BigInteger(), nullable=False, server_default=text("0")),
        Column("ohlcv_first_ts", BigInteger()),
        Column("ohlcv_last_ts", BigInteger()),
        Column("indicator_first_ts", BigInteger()),
        Column("indicator_last_ts", BigInteger()),
    ]


def record_history() -> list[Column[Any]]:
    """When a run or a simulation ran and was saved, its labels, and the dataset version it stands on."""
    return [
        Column("started_at", UtcDateTime()),
        Column("completed_at", UtcDateTime()),
        Column("created_at", UtcDateTime(), nullable=False),
        *labels(),
        Column("dataset_version", BigInteger()),
    ]


def record_indexes(key: str, measurement: str) -> list[Index]:
    """A run's or a simulation's lookups: by dataset, the list order (newest first), and its measurement."""
    return [Index(None, "dataset_id"), Index(None, "created_at", key), Index(None, measurement)]


def of_simulation() -> Column[Any]:
    """The simulation a trade or a bucket belongs to; they go with it."""
    return Column(
        "simulation_id", Uuid(), ForeignKey("simulation_runs.simulation_id", ondelete="CASCADE"), nullable=False
    )
