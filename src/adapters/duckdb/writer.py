"""One DuckDB write's transaction, and the catalog reads it needs: the table is created or widened to the
frame's columns, then each batch is upserted on the measurement's dedup keys (rows already stored for the same
keys are replaced, as QuestDB's dedup does)."""

from __future__ import annotations

import json
from typing import Final, NamedTuple

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from adapters.duckdb.sql import CATALOG, duckdb_type, quote
from adapters.series.schema import check_keys, conform, dedup_keys, normalize, time_bounds
from adapters.series.tables import keep_last
from application.store_types import SYMBOL, column_type_for
from domain.frames import TIMESTAMP, FrameKind, WriteMode

_INCOMING: Final = "__stage1_incoming"


class TableWriter:
    """One write's transaction: creates or widens the table, then upserts each batch."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, name: str, kind: FrameKind) -> None:
        self.cursor = cursor
        self.name = name
        self.kind = kind
        self.types: dict[str, str] | None = None
        self.keys: list[str] = dedup_keys(kind)
        self.symbols: list[str] = []
        self.stored_max: int | None = None
        self.rows = 0
        self.first_ns: int | None = None
        self.last_ns: int | None = None
        self.open = False
        self.in_time_order = True  # a new table starts in time order; see `_keep_time_order`

    def begin(self, mode: WriteMode) -> None:
        self.cursor.execute("BEGIN")
        self.open = True
        if mode is WriteMode.REPLACE:
            self.cursor.execute(f"DROP TABLE IF EXISTS {quote(self.name)}")
            self.cursor.execute(f"DELETE FROM {CATALOG} WHERE name = ?", [self.name])
            return
        self.types = column_types(self.cursor, self.name)
        if self.types is not None:
            entry = catalog_entry(self.cursor, self.name)
            self.keys = entry.keys or self.keys
            self.symbols = entry.symbols
            self.in_time_order = entry.in_time_order
            stamp = quote(TIMESTAMP)
            rows = self.cursor.execute(f"SELECT epoch_us(max({stamp})) FROM {quote(self.name)}").fetchall()
            self.stored_max = None if rows[0][0] is None else int(rows[0][0]) * 1000

    def apply(self, batch: pa.RecordBatch) -> None:
        frame = normalize(batch)
        if self.types is None:
            self._create(frame)
        else:
            frame = conform(frame, self.types)
            self._widen(frame)
        check_keys(frame, self.keys)
        if frame.num_rows == 0:
            return
        if frame.group_by(self.keys).aggregate([]).num_rows < frame.num_rows:
            frame = keep_last(frame, self.keys)
        low, high = time_bounds(frame)
        assert low is not None and high is not None
        self._keep_time_order(frame, low)
        self.cursor.register(_INCOMING, frame)
        try:
            if self.stored_max is not None and low <= self.stored_max:
                matches = " AND ".join(
                    f"t.{quote(key)} IS NOT DISTINCT FROM i.{quote(key)}" for key in self.keys
                )
                self.cursor.execute(f"DELETE FROM {quote(self.name)} t USING {_INCOMING} i WHERE {matches}")
            names = ", ".join(quote(column) for column in frame.schema.names)
            self.cursor.execute(f"INSERT INTO {quote(self.name)} ({names}) SELECT {names} FROM {_INCOMING}")
        finally:
            self.cursor.unregister(_INCOMING)
        self.rows += frame.num_rows
        self.first_ns = low if self.first_ns is None else min(self.first_ns, low)
        self.last_ns = high if self.last_ns is None else max(self.last_ns, high)
        self.stored_max = high if self.stored_max is None else max(self.stored_max, high)

    def _keep_time_order(self, frame: pa.Table, low: int) -> None:
        """The table stays in time order only while each batch comes strictly after every stored row with
        strictly increasing times; anything else (an upsert, a batch out of order) clears the mark for good."""
        if not self.in_time_order:
            return
        after_stored = self.stored_max is None or low > self.stored_max
        if after_stored and strictly_increasing(frame.column(TIMESTAMP)):
            return
        forget_time_order(self.cursor, self.name)
        self.in_time_order = False

    def _create(self, frame: pa.Table) -> None:
        types = {
            column: column_type_for(self.kind, column, dtype)
            for column, dtype in zip(frame.schema.names, frame.schema.types, strict=True)
        }
        definitions = ", ".join(
            f"{quote(column)} {duckdb_type(store_type)}{' NOT NULL' if column == TIMESTAMP else ''}"
            for column, store_type in types.items()
        )
        self.cursor.execute(f"CREATE TABLE {quote(self.name)} ({definitions})")
        self.symbols = [column for column, store_type in types.items() if store_type == SYMBOL]
        self.cursor.execute(
            f"INSERT INTO {CATALOG} (name, kind, dedup_keys, symbols, in_time_order) VALUES (?, ?, ?, ?, TRUE)",
            [self.name, self.kind.value, json.dumps(self.keys), json.dumps(self.symbols)],
        )
        self.in_time_order = True
        self.types = types

    def _widen(self, frame: pa.Table) -> None:
        assert self.types is not None
        added = False
        for column, dtype in zip(frame.schema.names, frame.schema.types, strict=True):
            if column in self.types:
                continue
            store_type = column_type_for(self.kind, column, dtype)
            self.cursor.execute(f"ALTER TABLE {quote(self.name)} ADD COLUMN {quote(column)} {duckdb_type(store_type)}")
            self.types[column] = store_type
            if store_type == SYMBOL:
                self.symbols.append(column)
                added = True
        if added:
            self.cursor.execute(
                f"UPDATE {CATALOG} SET symbols = ? WHERE name = ?", [json.dumps(self.symbols), self.name]
            )

    def commit(self) -> None:
        self.cursor.execute("COMMIT")
        self.open = False

    def close(self) -> None:
        try:
            if self.open:
                self.cursor.execute("ROLLBACK")
        except duckdb.Error:
            pass
        finally:
            self.cursor.close()


def column_types(
    cursor: duckdb.DuckDBPyConnection, name: str, entry: CatalogEntry | None = None
) -> dict[str, str] | None:
    """The store type of each column of `name` (None: no such table); `entry`, when the caller has it already,
    saves reading the catalog again."""
    # duckdb_columns() rather than information_schema.columns: the same rows, without the view's joins, which
    # cost a range read milliseconds before its first byte.
    rows = cursor.execute(
        "SELECT column_name, data_type FROM duckdb_columns() "
        "WHERE schema_name = 'main' AND table_name = ? ORDER BY column_index",
        [name],
    ).fetchall()
    if not rows:
        return None
    symbols = set((entry or catalog_entry(cursor, name)).symbols)
    return {
        str(column): SYMBOL if column in symbols else store_type_of(str(data_type)) for column, data_type in rows
    }


def store_type_of(duckdb_name: str) -> str:
    upper = duckdb_name.upper()
    if upper.startswith("TIMESTAMP") or upper == "DATE":
        return "TIMESTAMP"
    if upper in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT"):
        return "LONG"
    if upper in ("DOUBLE", "FLOAT", "REAL") or upper.startswith("DECIMAL"):
        return "DOUBLE"
    if upper == "BOOLEAN":
        return "BOOLEAN"
    return "VARCHAR"


class CatalogEntry(NamedTuple):
    keys: list[str]
    symbols: list[str]
    in_time_order: bool


def catalog_entry(cursor: duckdb.DuckDBPyConnection, name: str) -> CatalogEntry:
    rows = cursor.execute(
        f"SELECT dedup_keys, symbols, in_time_order FROM {CATALOG} WHERE name = ?", [name]
    ).fetchall()
    if not rows:
        return CatalogEntry([TIMESTAMP], [], False)
    keys, symbols, in_order = rows[0]
    return CatalogEntry(list(json.loads(keys)), list(json.loads(symbols)), bool(in_order))


def strictly_increasing(times: pa.ChunkedArray | pa.Array) -> bool:
    values = times.combine_chunks() if isinstance(times, pa.ChunkedArray) else times
    if len(values) < 2:
        return True
    return bool(pc.all(pc.greater(values[1:], values[:-1])).as_py())


def forget_time_order(cursor: duckdb.DuckDBPyConnection, name: str) -> None:
    cursor.execute(f"UPDATE {CATALOG} SET in_time_order = FALSE WHERE name = ?", [name])


class TimeOrder:
    """Checks, batch by batch, that rows read as stored come in strictly increasing time: the guard on a
    read that skips its sort (a table marked in time order that is not would otherwise answer unsorted)."""

    def __init__(self) -> None:
        self.last: pa.Scalar | None = None

    def follows(self, batch: pa.RecordBatch) -> bool:
        times = batch.column(TIMESTAMP)
        if self.last is not None and not pc.greater(times[0], self.last).as_py():
            return False
        self.last = times[len(times) - 1]
        return strictly_increasing(times)
