"""The `UploadReader` port over the pyarrow readers: an upload on disk in, normalized batches out."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pyarrow as pa

from adapters.frames.detection import UploadFormat
from adapters.frames.readers import read_frames
from application.ports import FrameUpload
from domain.frames import FrameKind


class ArrowUploadReader:
    def read(self, upload: FrameUpload, kind: FrameKind) -> AsyncIterator[pa.RecordBatch]:
        return read_frames(upload.path, kind, fmt=UploadFormat(upload.fmt) if upload.fmt else None)
