"""Trading simulations replayed from a run's predictions: trades, their buckets and the equity curve."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.errors import InvalidInput
from domain.lifecycle import RecordDetails
from domain.values import MeasurementName, Slug


class Side(StrEnum):
    LONG = "long"
    SHORT = "short"

    @classmethod
    def parse(cls, value: str) -> Side:
        try:
            return cls(value.strip().lower())
        except ValueError as exc:
            raise InvalidInput("side must be long or short", {"field": "side", "value": value[:20]}) from exc


@dataclass(frozen=True, slots=True)
class Trade:
    """One closed or open trade; times are epoch nanoseconds."""

    trade_id: int
    bar_timestamp: int
    side: Side
    entry_price: float | None = None
    exit_price: float | None = None
    quantity: float | None = None
    pnl: float | None = None
    return_pct: float | None = None
    fees: float | None = None
    fold_number: int | None = None
    entry_timestamp: int | None = None
    exit_timestamp: int | None = None


@dataclass(frozen=True, slots=True)
class TradeBucket:
    bucket: str
    trade_count: int
    win_count: int
    loss_count: int
    total_pnl: float
    avg_pnl: float
    avg_return_pct: float
    max_win: float
    max_loss: float


@dataclass(slots=True, kw_only=True)
class SimulationDetails(RecordDetails):
    """What a client tells about a simulation; the service adds its identity, run and measurement, and
    counts its trades. A new field of a simulation goes here (or on Simulation when the service sets it;
    one of every record on `RecordDetails`)."""

    config: dict[str, Any] = field(default_factory=dict)

    @property
    def initial_capital(self) -> float:
        value = self.config.get("initial_capital")
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return float(value)
        return 1.0


@dataclass(slots=True, kw_only=True)
class Simulation(SimulationDetails):
    simulation_id: UUID
    run_id: UUID
    dataset_id: UUID
    trades_measurement: MeasurementName
    created_at: datetime
    trade_count: int = 0
    trade_buckets: list[TradeBucket] = field(default_factory=list)
    # The dataset version the simulation was saved against (null: saved before datasets had versions).
    dataset_version: int | None = None
    # Answered, never stored: whether a later dataset version changed bars this record used (domain/versions.py).
    stale: bool = False
    stale_reason: str | None = None


def default_trades_measurement(slug: Slug, now: datetime) -> MeasurementName:
    return MeasurementName(f"{slug}_sim_{now.strftime('%Y%m%d%H%M%S')}")


def aggregate_buckets(trades: Iterable[Trade]) -> list[TradeBucket]:
    """The `all`, `long` and `short` buckets, for a simulation saved without its own."""
    every = list(trades)
    return [
        _bucket("all", every),
        _bucket("long", [t for t in every if t.side is Side.LONG]),
        _bucket("short", [t for t in every if t.side is Side.SHORT]),
    ]


def _bucket(name: str, trades: Sequence[Trade]) -> TradeBucket:
    pnls = [t.pnl or 0.0 for t in trades]
    returns = [t.return_pct for t in trades if t.return_pct is not None]
    count = len(trades)
    return TradeBucket(
        bucket=name,
        trade_count=count,
        win_count=sum(1 for p in pnls if p > 0),
        loss_count=sum(1 for p in pnls if p < 0),
        total_pnl=sum(pnls),
        avg_pnl=sum(pnls) / count if count else 0.0,
        avg_return_pct=sum(returns) / len(returns) if returns else 0.0,
        max_win=max((p for p in pnls if p > 0), default=0.0),
        max_loss=min((p for p in pnls if p < 0), default=0.0),
    )


@dataclass(frozen=True, slots=True)
class EquityPoint:
    timestamp: int
    equity: float
    drawdown: float


def equity_curve(trades: Iterable[Trade], initial_capital: float) -> list[EquityPoint]:
    """Capital plus cumulative pnl: one point at the start, one per closed trade, in time order.

    `drawdown` is the fall from the running peak as a fraction of that peak (0 at a new high).
    """
    closed = sorted(
        (t for t in trades if t.pnl is not None),
        key=lambda t: (t.exit_timestamp or t.bar_timestamp, t.trade_id),
    )
    if not closed:
        return []
    first = closed[0]
    start = min(first.entry_timestamp or first.bar_timestamp, first.bar_timestamp)
    points = [EquityPoint(start, initial_capital, 0.0)]
    equity = peak = initial_capital
    for trade in closed:
        equity += trade.pnl or 0.0
        peak = max(peak, equity)
        drawdown = (peak - equity) / peak if peak > 0 else 0.0
        points.append(EquityPoint(trade.exit_timestamp or trade.bar_timestamp, equity, drawdown))
    return points
