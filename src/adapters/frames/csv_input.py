"""CSV and CSV.gz uploads read into normalized Arrow batches, one Arrow streaming reader per upload.

Arrow's streaming CSV reader reads ahead on a background I/O thread (up to 32 blocks) from the moment it is
opened, and that thread does not stop when its caller closes the file under it. Two rules follow:
- the header, the column count and the types CSV inference sees come from the first block read into memory
  here, never from a second Arrow reader on the same file;
- the one real reader owns its file: it is never closed while Arrow may still read it; its descriptor goes
  when Arrow lets go of the stream. (Closing it early once let a read in flight land on the descriptor number
  the next open reused, and a block of that other reader's bytes went missing.)
"""

from __future__ import annotations

import gzip
import io
import re
import zlib
from collections.abc import Sequence
from contextlib import nullcontext
from functools import partial
from typing import Any, BinaryIO, Final

import pyarrow as pa
import pyarrow.csv as pa_csv

from adapters.frames.arriving import wait_for
from adapters.frames.detection import UploadFormat
from adapters.frames.frame_reader import FrameReader, Source, input_stream
from adapters.frames.normalize import FramePlan, canonical_type, is_time_like
from adapters.frames.positions import csv_start
from adapters.frames.rejections import Rejections
from domain.errors import InvalidInput
from domain.frames import TIMESTAMP_ALIASES, TRADE_TIME_COLUMNS, FrameKind, check_columns

# CSV is parsed in blocks of this many bytes; the first block is also what type inference looks at.
DEFAULT_BLOCK_SIZE: Final = 8 << 20
MIN_BLOCK_SIZE: Final = 4096
# Arrow spends tens of KB per column before a single row is read: a header is measured before that.
DEFAULT_MAX_COLUMNS: Final = 2000

_ROW: Final = re.compile(r"Row #(\d+)")
_COLUMN: Final = re.compile(r"column #(\d+)")
_VALUE: Final = re.compile(r"invalid value '(.*)'", re.DOTALL)
_TARGET: Final = re.compile(r"conversion error to (\w+)")
_FIELDS: Final = re.compile(r"Expected (\d+) columns, got (\d+)")


def open_csv(
    source: Source,
    kind: FrameKind,
    fmt: UploadFormat,
    *,
    batch_rows: int,
    block_size: int = DEFAULT_BLOCK_SIZE,
    max_columns: int = DEFAULT_MAX_COLUMNS,
    skip_bad_rows: bool = False,
) -> FrameReader:
    """Checks the header (width, names) and pins every column's type, then opens the one streaming reader.

    To skip bad rows, the reader drops rows of the wrong width and reads typed columns as text, so that a bad
    cell costs its row only (Arrow fails a whole block on one cell); the plan casts them back row by row."""
    block_size = max(block_size, MIN_BLOCK_SIZE)
    first = _first_block(source, fmt, block_size, max_columns)
    try:
        inferred = _inferred_schema(first, block_size, kind, skip_bad_rows)
        names = [name.strip() for name in inferred.names]
    except UnicodeDecodeError as exc:
        raise InvalidInput("the CSV header is not UTF-8 text", {"line": 1, "reason": str(exc)[:200]}) from exc
    except InvalidInput as error:
        raise _physical_line(source, fmt, error) from error
    check_columns(kind, names)
    column_types, time_typed = _pinned_csv_types(kind, inferred)
    relocate = partial(_physical_line, source, fmt)
    rejections, recast = None, {}
    if skip_bad_rows:
        rejections = Rejections(relocate)
        recast = {raw.strip(): kind_of for raw, kind_of in column_types.items() if kind_of != pa.string()}
        column_types = dict.fromkeys(column_types, pa.string())
    try:
        reader = _csv_reader(source, fmt, block_size, column_types, names, rejections)
    except InvalidInput as error:
        raise _physical_line(source, fmt, error) from error
    plan = FramePlan.for_schema(kind, reader.schema, time_typed, recast)
    return FrameReader(
        plan,
        reader.schema,
        iter(reader),
        start=csv_start(),
        batch_rows=batch_rows,
        translate=partial(_csv_error, names=names),
        relocate=relocate,
        rejections=rejections,
    )


def _first_block(source: Source, fmt: UploadFormat, block_size: int, max_columns: int) -> bytes:
    """The first `block_size` bytes of the text (decompressed), cut after the last line they complete."""
    if not isinstance(source, bytes):
        # An upload still arriving: its first block (one byte more, to know whether it is the whole text).
        wait_for(source, block_size + 1 if fmt is UploadFormat.CSV else None)
    raw: BinaryIO = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115
    try:
        with raw, gzip.GzipFile(fileobj=raw) if fmt is UploadFormat.CSV_GZIP else nullcontext(raw) as text:
            block = text.read(block_size)
            whole = len(block) < block_size or not text.read(1)
    except (OSError, EOFError, zlib.error) as exc:
        raise InvalidInput("the upload is not valid gzip", {"reason": str(exc)[:200]}) from exc
    _check_width(block, max_columns)
    if whole:
        return block
    cut = max(block.rfind(b"\n"), block.rfind(b"\r")) + 1
    if cut == 0:
        raise InvalidInput(
            f"line 1: the CSV header is longer than {block_size} bytes", {"line": 1, "limit_bytes": block_size}
        )
    return block[:cut]


def _check_width(block: bytes, max_columns: int) -> None:
    """Counts the header's delimiters (those outside quotes) before any parser sizes itself to them."""
    ends = [at for at in (block.find(b"\n"), block.find(b"\r")) if at >= 0]
    header = block[: min(ends)] if ends else block
    # Text between an odd and an even quote is quoted; an escaped quote ("") only adds an empty piece.
    columns = 1 + sum(piece.count(b",") for piece in header.split(b'"')[::2])
    if columns > max_columns:
        raise InvalidInput(
            f"the CSV header has {columns} columns; at most {max_columns} are allowed",
            {"line": 1, "columns": columns, "max_columns": max_columns},
        )


def _inferred_schema(block: bytes, block_size: int, kind: FrameKind, skip_bad_rows: bool = False) -> pa.Schema:
    """The header's names, with the types CSV inference gives in the first block to the columns whose type
    the contract does not fix (times, and the columns a kind does not name); fixed columns read as null here.

    Only those columns are converted: inferring every column of a block costs about as much as reading it."""
    # Rows of the wrong width that are to be skipped are reported by the one real reader, not here.
    parse = pa_csv.ParseOptions(invalid_row_handler=lambda _row: "skip") if skip_bad_rows else pa_csv.ParseOptions()
    read = pa_csv.ReadOptions(block_size=block_size, use_threads=False)
    try:
        names = _header_names(block, parse)
        guessed = [name for name in names if _needs_inference(kind, name.strip())]
        if len(set(names)) != len(names) or len(guessed) == len(names):
            guessed = []  # every column (or an ambiguous header): infer them all, as Arrow would
        convert = pa_csv.ConvertOptions(strings_can_be_null=True, include_columns=guessed or None)
        table = pa_csv.read_csv(pa.py_buffer(block), read_options=read, parse_options=parse, convert_options=convert)
    except (pa.ArrowException, OSError) as exc:
        raise _csv_error(exc, ()) from exc
    if not guessed:
        return table.schema
    types = dict(zip(table.schema.names, table.schema.types, strict=True))
    return pa.schema([(name, types.get(name, pa.null())) for name in names])


def _header_names(block: bytes, parse: Any) -> list[str]:
    """The header's column names, parsed by Arrow from the start of the block only."""
    ends = [at for at in (block.find(b"\n"), block.find(b"\r")) if at >= 0]
    head = min(len(block), max(1 << 16, 2 * (min(ends, default=len(block)) + 1)))
    sample = block[:head]
    if head < len(block):
        cut = max(sample.rfind(b"\n"), sample.rfind(b"\r")) + 1
        sample = sample[:cut] if cut else block
    reader = pa_csv.open_csv(
        pa.py_buffer(sample),
        read_options=pa_csv.ReadOptions(block_size=max(len(sample), MIN_BLOCK_SIZE), use_threads=False),
        parse_options=parse,
    )
    return list(reader.schema.names)


def _needs_inference(kind: FrameKind, name: str) -> bool:
    is_time = name in TIMESTAMP_ALIASES or (kind is FrameKind.TRADES and name in TRADE_TIME_COLUMNS)
    return is_time or canonical_type(kind, name) is None


def _csv_reader(
    source: Source,
    fmt: UploadFormat,
    block_size: int,
    column_types: dict[str, pa.DataType],
    names: Sequence[str],
    rejections: Rejections | None = None,
) -> Any:
    """An Arrow streaming reader; opening it already parses the first block.

    The file is not closed here, nor on any path after: the reader's read-ahead thread holds the stream
    and closes it when it lets go (see the module's docstring)."""
    stream = input_stream(source)
    if fmt is UploadFormat.CSV_GZIP:
        stream = pa.CompressedInputStream(stream, "gzip")
    parse = pa_csv.ParseOptions()
    if rejections is not None:

        def drop(row: Any) -> str:
            rejections.parser_dropped(row.number, row.expected_columns, row.actual_columns, row.text)
            return "skip"

        parse = pa_csv.ParseOptions(invalid_row_handler=drop)
    try:
        return pa_csv.open_csv(
            stream,
            # Serial reading is what makes Arrow report the row number of a bad cell.
            read_options=pa_csv.ReadOptions(block_size=block_size, use_threads=False),
            parse_options=parse,
            convert_options=pa_csv.ConvertOptions(column_types=column_types, strings_can_be_null=True),
        )
    except (pa.ArrowException, OSError, EOFError) as exc:
        raise _csv_error(exc, names) from exc


def _pinned_csv_types(kind: FrameKind, inferred: pa.Schema) -> tuple[dict[str, pa.DataType], list[str]]:
    types: dict[str, pa.DataType] = {}
    time_typed: list[str] = []
    for raw_name, seen in zip(inferred.names, inferred.types, strict=True):
        name = raw_name.strip()
        is_time = name in TIMESTAMP_ALIASES or (kind is FrameKind.TRADES and name in TRADE_TIME_COLUMNS)
        canonical = canonical_type(kind, name)
        if is_time:
            # Epoch numbers parse natively; anything else is parsed by our ISO-8601 rules.
            types[raw_name] = seen if seen in (pa.int64(), pa.float64()) else pa.string()
        elif canonical is not None:
            types[raw_name] = canonical
        elif is_time_like(seen):
            types[raw_name] = pa.string()
            time_typed.append(name)
        elif kind is FrameKind.INDICATORS and (pa.types.is_integer(seen) or pa.types.is_null(seen)):
            types[raw_name] = pa.float64()
        elif pa.types.is_null(seen):
            types[raw_name] = pa.string()
        else:
            types[raw_name] = seen
    return types, time_typed


def _physical_line(source: Source, fmt: UploadFormat, error: InvalidInput) -> InvalidInput:
    """The error with its line counted as in the file, blank lines included.

    Arrow skips blank lines and numbers records, so record N is the N-th non-blank line. Only an error
    pays for this scan, and it stops at the line it looks for.
    """
    details = error.details
    if not isinstance(details, dict) or not isinstance(details.get("line"), int):
        return error
    record = details["line"]
    try:
        physical = _nth_non_blank_line(source, fmt, record)
    except (OSError, EOFError):
        return error
    if physical is None or physical == record:
        return error
    message = error.message.replace(f"(line {record}):", f"(line {physical}):", 1)
    return InvalidInput(message, {**details, "line": physical})


def _nth_non_blank_line(source: Source, fmt: UploadFormat, record: int) -> int | None:
    wait_for(source, None)
    raw: BinaryIO = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115
    with raw, gzip.GzipFile(fileobj=raw) if fmt is UploadFormat.CSV_GZIP else raw as handle:
        seen = 0
        for physical, text in enumerate(handle, start=1):
            seen += 1 if text.strip(b"\r\n") else 0
            if seen == record:
                return physical
    return None


def _csv_open_error(exc: Exception) -> InvalidInput:
    message = str(exc)
    if "Empty CSV file" in message:
        return InvalidInput("the upload is empty", {"bytes": 0})
    if "gzip" in message.lower() or "zlib" in message.lower():
        return InvalidInput("the upload is not valid gzip", {"reason": message[:200]})
    return InvalidInput(f"the CSV could not be read: {message[:200]}", {"reason": message[:200]})


def _csv_error(exc: Exception, names: Sequence[str]) -> InvalidInput:
    """Arrow's CSV error as a 400 that names the file line (header = line 1) and the column."""
    message = str(exc)
    row = _ROW.search(message)
    details: dict[str, Any] = {}
    if row is not None:
        # Arrow numbers records with the header as #1: the data row is one less (blank lines aside).
        details["row"] = int(row.group(1)) - 1
        details["line"] = int(row.group(1))
    column = _COLUMN.search(message)
    if column is not None and int(column.group(1)) < len(names):
        details["column"] = names[int(column.group(1))]
    where = f"row {details['row']} (line {details['line']}): " if "line" in details else ""
    target = _TARGET.search(message)
    if target is not None:
        value = _VALUE.search(message)
        if value is not None:
            details["value"] = value.group(1)[:80]
        wanted = {"double": "a number", "int64": "an integer", "string": "UTF-8 text"}.get(
            target.group(1), target.group(1)
        )
        shown = f", got {details['value']!r}" if "value" in details else ""
        return InvalidInput(f"{where}{details.get('column', 'a column')} must be {wanted}{shown}", details)
    fields = _FIELDS.search(message)
    if fields is not None:
        details["expected_columns"], details["found_columns"] = int(fields.group(1)), int(fields.group(2))
        return InvalidInput(f"{where}expected {fields.group(1)} fields, found {fields.group(2)}", details)
    return _csv_open_error(exc) if not details else InvalidInput(f"{where}{message[:200]}", details)
