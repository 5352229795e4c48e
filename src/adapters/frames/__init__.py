"""Frames in and out: uploads read into normalized Arrow batches, Arrow streams encoded for clients."""

from adapters.frames.detection import UploadFormat, detect_format
from adapters.frames.encoders import Chunk, encode, encode_table, prepare_batch
from adapters.frames.formats import MEDIA_TYPES, OutputFormat, negotiate
from adapters.frames.readers import (
    FrameReader,
    iterate_table,
    open_frames,
    read_csv_text,
    read_frames,
    read_json_rows,
    read_table,
)
from adapters.frames.timestamps import NANOS_TYPE

__all__ = [
    "MEDIA_TYPES",
    "NANOS_TYPE",
    "Chunk",
    "FrameReader",
    "OutputFormat",
    "UploadFormat",
    "detect_format",
    "encode",
    "encode_table",
    "iterate_table",
    "negotiate",
    "open_frames",
    "prepare_batch",
    "read_csv_text",
    "read_frames",
    "read_json_rows",
    "read_table",
]
