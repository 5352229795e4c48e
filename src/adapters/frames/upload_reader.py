"""The `UploadReader` port over the pyarrow readers: an upload on disk in, normalized batches out."""

from __future__ import annotations

from adapters.frames.checked import CheckedFrame
from adapters.frames.csv_input import DEFAULT_BLOCK_SIZE, DEFAULT_MAX_COLUMNS
from adapters.frames.detection import UploadFormat
from application.series_ports import FrameUpload, UploadReadOptions
from domain.frames import FrameKind


class ArrowUploadReader:
    """`block_size` is the CSV parsing block; `max_columns` the widest CSV header accepted (a 400 beyond)."""

    def __init__(self, block_size: int = DEFAULT_BLOCK_SIZE, max_columns: int = DEFAULT_MAX_COLUMNS) -> None:
        self.block_size = block_size
        self.max_columns = max_columns

    def read(
        self, upload: FrameUpload, kind: FrameKind, options: UploadReadOptions = UploadReadOptions()
    ) -> CheckedFrame:
        fmt = UploadFormat(upload.fmt) if upload.fmt else None
        return CheckedFrame(
            upload.path, kind, options, fmt=fmt, block_size=self.block_size, max_columns=self.max_columns
        )
