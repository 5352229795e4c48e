"""Arrow batches as JSON row objects, assembled with vectorized string kernels; msgspec spells the types those
kernels cannot."""

from __future__ import annotations

import json
from typing import Any, Final

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

# What JSON must escape inside a string: control characters, the quote and the backslash.
_JSON_ESCAPES: Final = r'[\x00-\x1f"\\]'


def rows_json(batch: pa.RecordBatch, terminator: bytes) -> bytes:
    """Each row of `batch` as a JSON object followed by `terminator`, concatenated."""
    texts = [_json_texts(values) for values in batch.columns]
    if batch.num_columns == 0:
        return bytes((b"{}" + terminator) * int(batch.num_rows))
    if any(text is None for text in texts):
        return _rows_json_msgspec(batch, terminator)
    parts: list[Any] = []
    for index, (name, text) in enumerate(zip(batch.schema.names, texts, strict=True)):
        parts.append(("{" if index == 0 else ",") + json.dumps(name) + ":")
        parts.append(text)
    parts.append("}" + terminator.decode())
    rows = pc.binary_join_element_wise(*parts, "")
    # The rows sit back to back in the string array's data buffer: take them without a copy per row.
    _, offsets, data = rows.buffers()
    bounds = memoryview(offsets).cast("i")
    return bytes(memoryview(data)[bounds[rows.offset] : bounds[rows.offset + len(rows)]])


def _json_texts(values: pa.Array) -> pa.Array | None:
    """A column as JSON value text (null spelled out), or None when only msgspec can spell it."""
    kind = values.type
    if pa.types.is_null(kind):
        text = pa.nulls(len(values), pa.string())
    elif pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        text = pc.cast(values, pa.string())
    elif pa.types.is_floating(kind):
        # JSON has no NaN or infinity; they go out as null.
        text = pc.cast(values, pa.string())
        # Arrow spells 1.0 as "1"; a typed client should still see a float, as msgspec would write it.
        integral = pc.match_substring_regex(text, r"^-?[0-9]+$")
        text = pc.if_else(integral, pc.binary_join_element_wise(text, ".0", ""), text)
        text = pc.if_else(pc.is_finite(values), text, pa.scalar(None, pa.string()))
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        values = values.cast(pa.string())
        if pc.any(pc.match_substring_regex(values, _JSON_ESCAPES)).as_py():
            text = json_text_per_value(values)
        else:
            text = pc.binary_join_element_wise('"', values, '"', "")
    else:
        return None
    return pc.fill_null(text, "null")


def json_text_per_value(values: pa.Array) -> pa.Array:
    encoded = [None if value is None else msgspec.json.encode(value).decode() for value in values.to_pylist()]
    return pa.array(encoded, pa.string())


def _rows_json_msgspec(batch: pa.RecordBatch, terminator: bytes) -> bytes:
    rows = batch.to_pylist()
    if terminator == b",":
        return bytes(msgspec.json.encode(rows)[1:-1]) + b","
    return b"".join(msgspec.json.encode(row) + terminator for row in rows)
