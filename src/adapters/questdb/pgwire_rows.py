"""Blocks of Postgres DataRow messages turned into Arrow columns with numpy, never a Python object per value.

A DataRow is `D`, its length (int32), the column count (int16), then per column a length (int32, -1 for
null) and that many bytes. Numbers, booleans, times and dates are asked for in binary (big-endian, times in
microseconds and dates in days since 2000-01-01) and gathered column by column; every other type comes as
text and becomes an Arrow string. Where every row has the same size — bars, indicators: numbers without
nulls — a block is one 2-D array whose columns are plain slices.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Final, Protocol

import numpy as np
import pyarrow as pa
from numpy.lib.stride_tricks import as_strided

ROW: Final = ord("D")
TEXT, BINARY = 0, 1
PG_EPOCH_US: Final = 946_684_800_000_000
PG_EPOCH_DAYS: Final = 10_957
_LENGTH: Final = struct.Struct("!I")
_WALK: Final = 4_096  # rows read one by one before trying equal-sized rows again
_ROW_HEAD: Final = 7  # "D", the length, the column count
_PAD: Final = 8  # the widest binary value

# type oid -> (wire dtype, Arrow type); every other type is read as text.
_BINARY: Final[dict[int, tuple[str, pa.DataType]]] = {
    20: (">i8", pa.int64()), 23: (">i4", pa.int64()), 21: (">i2", pa.int64()),
    701: (">f8", pa.float64()), 700: (">f4", pa.float64()), 16: ("u1", pa.bool_()),
    1114: (">i8", pa.timestamp("us")), 1184: (">i8", pa.timestamp("us")), 1082: (">i4", pa.date32()),
}


class Described(Protocol):
    @property
    def type_oid(self) -> int: ...


def result_formats(fields: Sequence[Described]) -> list[int]:
    return [BINARY if field.type_oid in _BINARY else TEXT for field in fields]


def arrow_type(type_oid: int) -> pa.DataType:
    return _BINARY[type_oid][1] if type_oid in _BINARY else pa.string()


def scan_rows(buffer: bytearray | bytes) -> tuple[np.ndarray, int]:
    """Where each complete DataRow at the head of `buffer` starts, and where the last one ends."""
    view = np.frombuffer(buffer, np.uint8)
    size = len(buffer)
    found: list[np.ndarray] = []
    position = 0
    while position + 5 <= size and buffer[position] == ROW:
        step = _LENGTH.unpack_from(buffer, position + 1)[0] + 1
        fits = (size - position) // step
        if fits == 0:
            break
        starts = position + step * np.arange(fits, dtype=np.int64)
        same = (view[starts] == ROW) & (_int32(view, starts + 1) == step - 1)
        run = fits if same.all() else int(np.argmin(same))
        if run >= 16:
            found.append(starts[:run])
            position += run * step
            continue
        walked, position = _walk(buffer, position, size)
        found.append(walked)
    if not found:
        return np.empty(0, np.int64), position
    return np.concatenate(found), position


def _walk(buffer: bytearray | bytes, position: int, size: int) -> tuple[np.ndarray, int]:
    """Rows of unequal sizes, one at a time (strings, nulls), for at most _WALK rows."""
    starts: list[int] = []
    while len(starts) < _WALK and position + 5 <= size and buffer[position] == ROW:
        end = position + 1 + _LENGTH.unpack_from(buffer, position + 1)[0]
        if end > size:
            break
        starts.append(position)
        position = end
    return np.array(starts, np.int64), position


def decode(block: bytes, starts: np.ndarray, names: list[str], fields: Sequence[Described]) -> pa.RecordBatch:
    """The rows of `block` (DataRows at `starts`) as one batch; formats as `result_formats` asked."""
    kinds = [field.type_oid for field in fields]
    table = _equal_rows(np.frombuffer(block, np.uint8), starts, kinds)
    if table is None:
        # Padding lets a null's (empty) value at the very end be gathered like any other, then masked.
        arrays = _gathered(np.frombuffer(block + bytes(_PAD), np.uint8), starts, kinds)
    else:
        arrays = [_numbers(values, np.ones(len(values), bool), kind) for values, kind in zip(table, kinds, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _equal_rows(view: np.ndarray, starts: np.ndarray, kinds: list[int]) -> list[np.ndarray] | None:
    """Each column's values when every row is binary, of one size and without nulls; else None."""
    if not starts.size or any(kind not in _BINARY for kind in kinds):
        return None
    widths = [np.dtype(_BINARY[kind][0]).itemsize for kind in kinds]
    step = _ROW_HEAD + sum(4 + width for width in widths)
    rows = len(starts)
    if starts[0] != 0 or rows * step != len(view) or not np.array_equal(np.diff(starts), np.full(rows - 1, step)):
        return None
    grid = view.reshape(rows, step)
    columns, offset = [], _ROW_HEAD
    for kind, width in zip(kinds, widths, strict=True):
        lengths = np.ascontiguousarray(grid[:, offset : offset + 4]).view(">i4").ravel()
        if not (lengths == width).all():
            return None
        raw = np.ascontiguousarray(grid[:, offset + 4 : offset + 4 + width])
        columns.append(raw.view(_BINARY[kind][0]).ravel())
        offset += 4 + width
    return columns


def _gathered(view: np.ndarray, starts: np.ndarray, kinds: list[int]) -> list[pa.Array]:
    """Column by column, each row's offset moving past the value just read."""
    offsets = starts + _ROW_HEAD
    arrays = []
    for kind in kinds:
        lengths = _int32(view, offsets)
        present = lengths >= 0
        sizes = np.where(present, lengths, 0)
        data = offsets + 4
        if kind in _BINARY:
            dtype = np.dtype(_BINARY[kind][0])
            values = _windows(view, dtype.itemsize)[data].view(dtype).ravel()
            arrays.append(_numbers(values, present, kind))
        else:
            arrays.append(_text(view, data, sizes, present))
        offsets = data + sizes
    return arrays


def _numbers(values: np.ndarray, present: np.ndarray, kind: int) -> pa.Array:
    wire, arrow = _BINARY[kind]
    if kind in (1114, 1184):
        values = values.astype(np.int64) + PG_EPOCH_US
    elif kind == 1082:
        values = values.astype(np.int32) + PG_EPOCH_DAYS
    elif wire == "u1":
        values = values != 0
    else:
        values = values.astype(arrow.to_pandas_dtype())
    mask = None if present.all() else ~present
    return pa.array(values, arrow, mask=mask)


def _text(view: np.ndarray, data: np.ndarray, sizes: np.ndarray, present: np.ndarray) -> pa.Array:
    ends = np.cumsum(sizes, dtype=np.int64)
    total = int(ends[-1]) if len(ends) else 0
    spots = np.repeat(data - (ends - sizes), sizes) + np.arange(total, dtype=np.int64)
    offsets = np.concatenate(([0], ends)).astype(np.int32)
    validity = None if present.all() else pa.py_buffer(np.packbits(present, bitorder="little"))
    array = pa.Array.from_buffers(
        pa.string(), len(sizes), [validity, pa.py_buffer(offsets), pa.py_buffer(view[spots].tobytes())],
        null_count=int(len(present) - present.sum()),
    )
    array.validate(full=True)  # the server's text is UTF-8; a broken byte must not become a broken file
    return array


def _int32(view: np.ndarray, at: np.ndarray) -> np.ndarray:
    values: np.ndarray = _windows(view, 4)[at].view(">i4").ravel().astype(np.int64)
    return values


def _windows(view: np.ndarray, width: int) -> np.ndarray:
    """Every run of `width` bytes of `view`, without copying: row i is view[i : i + width]."""
    windows: np.ndarray = as_strided(view, shape=(len(view) - width + 1, width), strides=(1, 1), writeable=False)
    return windows
