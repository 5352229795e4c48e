"""Frames in and out: whatever a researcher holds (pandas, polars, Arrow, dicts) becomes an Arrow IPC body;
Arrow streams from the service become Arrow tables, pandas or polars frames with real UTC timestamps."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

As = Literal["arrow", "pandas", "polars"]
ARROW_STREAM = "application/vnd.apache.arrow.stream"
UTC_MS = pa.timestamp("ms", tz="UTC")

# The service writes time columns as int64 epoch milliseconds (its Arrow default, `ts_unit=ms`).
TIME_COLUMNS = frozenset({"timestamp", "bar_timestamp", "entry_timestamp", "exit_timestamp", "ts"})


def is_time_column(name: str) -> bool:
    return name in TIME_COLUMNS or name.endswith("_timestamp")


def to_table(frame: Any) -> pa.Table:
    """An Arrow table from a pandas or polars frame, an Arrow table or batch, a dict of columns or a list
    of row dicts. A pandas index that carries data (a DatetimeIndex, a named index) becomes a column."""
    if isinstance(frame, pa.Table):
        return frame
    if isinstance(frame, pa.RecordBatch):
        return pa.Table.from_batches([frame])
    module = type(frame).__module__.split(".")[0]
    if module == "polars":
        table = frame.to_arrow()
        assert isinstance(table, pa.Table)
        return table
    if module == "pandas":
        import pandas as pd

        index = frame.index
        keeps_index = index.name is not None or isinstance(index, pd.DatetimeIndex)
        if keeps_index and not isinstance(index, pd.RangeIndex):
            frame = frame.reset_index()
            if index.name is None:
                frame = frame.rename(columns={"index": "timestamp"})
        return pa.Table.from_pandas(frame, preserve_index=False)
    if isinstance(frame, dict):
        return pa.Table.from_pydict(frame)
    if isinstance(frame, list):
        return pa.Table.from_pylist(frame)
    raise TypeError(f"cannot send a {type(frame).__name__} as a frame: use pandas, polars, pyarrow or dicts")


# The IPC stream's end: the continuation marker and a zero-length message.
END_OF_STREAM = pa.py_buffer(b"\xff\xff\xff\xff\x00\x00\x00\x00")


def ipc_buffers(table: pa.Table) -> tuple[pa.Buffer, ...]:
    """The Arrow IPC stream of `table` as its messages (schema, one per batch, end marker), each serialized
    by pyarrow into one buffer of exactly its size: the bytes of pyarrow's stream writer, sent as they are
    instead of being copied again into one growing buffer and then into `bytes`."""
    return (table.schema.serialize(), *(batch.serialize() for batch in table.to_batches()), END_OF_STREAM)


def ipc_stream(table: pa.Table) -> bytes:
    return b"".join(ipc_buffers(table))


def frame_part(frame: Any, name: str) -> tuple[str, tuple[pa.Buffer, ...], str]:
    """A multipart file part carrying the frame as an Arrow IPC stream (binary, typed, no CSV round trip)."""
    return (f"{name}.arrows", ipc_buffers(to_table(frame)), ARROW_STREAM)


def read_stream(content: bytes | bytearray) -> pa.Table:
    if not content:
        return pa.table({})
    return pa.ipc.open_stream(pa.py_buffer(content)).read_all()


def with_utc_times(table: pa.Table, names: Iterable[str] = ()) -> pa.Table:
    """Epoch-millisecond time columns (and any naive timestamp column) as `timestamp[ms, UTC]`."""
    wanted = set(names)
    columns = []
    for index, field in enumerate(table.schema):
        column = table.column(index)
        if field.name in wanted or is_time_column(field.name):
            if pa.types.is_integer(field.type):
                column = pc.cast(pc.cast(column, pa.int64()), UTC_MS)
            elif pa.types.is_timestamp(field.type) and field.type.tz is None:
                column = pc.assume_timezone(column, "UTC")
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.schema.names)


def convert(table: pa.Table, as_: As) -> Any:
    if as_ == "arrow":
        return table
    if as_ == "pandas":
        # self_destruct frees each Arrow column once converted: the peak is one copy of the frame, not two.
        # Not split_blocks: a one-chunk column would become a read-only view of Arrow's memory, and
        # `frame.loc[i, "close"] = x` would fail.
        return table.to_pandas(self_destruct=True)
    if as_ == "polars":
        import polars as pl

        return pl.from_arrow(table)
    raise ValueError(f"as_ must be one of arrow, pandas, polars, not {as_!r}")


def frame_from_stream(content: bytes | bytearray, as_: As, time_columns: Sequence[str] = ()) -> Any:
    return convert(with_utc_times(read_stream(content), time_columns), as_)


def frame_from_records(records: list[dict[str, Any]], as_: As | Literal["records"]) -> Any:
    """Rows (e.g. flattened search results) as the asked frame type, or the records themselves."""
    if as_ == "records":
        return records
    table = pa.Table.from_pylist(records) if records else pa.table({})
    return convert(with_utc_times(table), as_)
