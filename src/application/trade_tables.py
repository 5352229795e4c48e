"""Trades as Arrow and back: a trades frame numbered in bar order, turned into the domain's trades (what the
metadata store keeps row by row) and back into a batch."""

from __future__ import annotations

import math

import pyarrow as pa
import pyarrow.compute as pc

from domain.errors import InvalidInput
from domain.frames import TIMESTAMP, TRADE_COLUMNS
from domain.simulations import Side, Trade


def number_trades(table: pa.Table) -> pa.Table:
    """Trades in bar order; a frame without `trade_id` gets the sequence 1..N in that order."""
    ordered = table.sort_by([(TIMESTAMP, "ascending")])
    if "trade_id" in ordered.column_names:
        ids = ordered.column("trade_id")
        if ids.null_count:
            raise InvalidInput("trade_id must be set on every trade", {"field": "trade_id"})
        ids64 = pc.cast(ids, pa.int64(), safe=True)
        if pc.count_distinct(ids64).as_py() != ordered.num_rows:
            raise InvalidInput("trade_id must be unique within a simulation", {"field": "trade_id"})
        return ordered.set_column(ordered.column_names.index("trade_id"), "trade_id", ids64)
    return ordered.append_column("trade_id", pa.array(range(1, ordered.num_rows + 1), pa.int64()))


def trades_from_table(table: pa.Table) -> list[Trade]:
    columns = set(table.column_names)

    def nanos(name: str) -> list[int | None]:
        if name not in columns:
            return [None] * table.num_rows
        values = pc.cast(table.column(name), pa.timestamp("ns")).cast(pa.int64())
        return values.to_pylist()  # type: ignore[no-any-return]

    def floats(name: str) -> list[float | None]:
        if name not in columns:
            return [None] * table.num_rows
        return [
            None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
            for v in table.column(name).to_pylist()
        ]

    def ints(name: str) -> list[int | None]:
        if name not in columns:
            return [None] * table.num_rows
        return [None if v is None else int(v) for v in table.column(name).to_pylist()]

    bar, entry, exit_ = nanos(TIMESTAMP), nanos("entry_timestamp"), nanos("exit_timestamp")
    ids, folds = ints("trade_id"), ints("fold_number")
    sides = [Side.parse(str(v)) for v in table.column("side").to_pylist()]
    fields = {name: floats(name) for name in ("entry_price", "exit_price", "quantity", "pnl", "return_pct", "fees")}
    trades = []
    for i in range(table.num_rows):
        bar_ns = bar[i]
        trade_id = ids[i]
        if bar_ns is None or trade_id is None:
            raise InvalidInput("every trade needs a bar_timestamp", {"row": i + 1})
        trades.append(
            Trade(
                trade_id=trade_id,
                bar_timestamp=bar_ns,
                side=sides[i],
                entry_price=fields["entry_price"][i],
                exit_price=fields["exit_price"][i],
                quantity=fields["quantity"][i],
                pnl=fields["pnl"][i],
                return_pct=fields["return_pct"][i],
                fees=fields["fees"][i],
                fold_number=folds[i],
                entry_timestamp=entry[i],
                exit_timestamp=exit_[i],
            )
        )
    return trades


def trades_to_batch(trades: list[Trade]) -> pa.RecordBatch:
    """Trades as a batch whose columns are the contract's trade fields, times as timestamps."""

    def ts(values: list[int | None]) -> pa.Array:
        return pa.array(values, pa.int64()).cast(pa.timestamp("ns"))

    return pa.RecordBatch.from_arrays(
        [
            pa.array([t.trade_id for t in trades], pa.int64()),
            ts([t.bar_timestamp for t in trades]),
            ts([t.entry_timestamp for t in trades]),
            ts([t.exit_timestamp for t in trades]),
            pa.array([t.side.value for t in trades], pa.string()),
            *(
                pa.array([getattr(t, name) for t in trades], pa.float64())
                for name in ("entry_price", "exit_price", "quantity", "pnl", "return_pct", "fees")
            ),
            pa.array([t.fold_number for t in trades], pa.int64()),
        ],
        names=list(TRADE_COLUMNS),
    )
