"""A dataset's frames previewed: each checked whole and described, gaps measured against the dataset's
granularity; nothing is written and no record changes."""

from __future__ import annotations

from application.commands import PreviewDatasetFrames
from application.dataset_names import DATASET_FRAME_KINDS
from application.datasets import find_dataset
from application.ports import UnitOfWorkFactory
from application.preview import FramePreview, preview_upload
from application.series_ports import UploadReader
from domain.datasets import Dataset, default_indicator_measurement, default_ohlcv_measurement
from domain.errors import InvalidInput, NotFound
from domain.frames import FrameKind
from domain.values import MeasurementName, Slug


async def preview_dataset_frames(
    command: PreviewDatasetFrames, *, uow: UnitOfWorkFactory, uploads: UploadReader
) -> dict[FrameKind, FramePreview]:
    if not command.frames:
        raise InvalidInput("send an ohlcv and/or an indicators frame", {"missing_parts": ["ohlcv", "indicators"]})
    async with uow() as tx:
        try:
            dataset: Dataset | None = await find_dataset(tx, command.dataset_ref)
        except NotFound:
            dataset = None
    changes = command.changes
    granularity = command.granularity or changes.granularity or (dataset.granularity if dataset else None)
    previews: dict[FrameKind, FramePreview] = {}
    for kind, upload in command.frames.items():
        if kind not in DATASET_FRAME_KINDS:
            raise InvalidInput(f"a dataset takes ohlcv and indicators frames, not {kind}")
        previews[kind] = await preview_upload(uploads, upload, kind, _measurement(command, dataset, kind), granularity)
    return previews


def _measurement(command: PreviewDatasetFrames, dataset: Dataset | None, kind: FrameKind) -> MeasurementName:
    """Where the frame would land: the name the save sets, else the dataset's, else the slug's default."""
    explicit = command.changes.ohlcv_measurement if kind is FrameKind.OHLCV else command.changes.indicator_measurement
    if explicit:
        return MeasurementName(explicit)
    if dataset is not None:
        return dataset.measurement_for(kind)
    slug = Slug(command.dataset_ref)
    return default_ohlcv_measurement(slug) if kind is FrameKind.OHLCV else default_indicator_measurement(slug)
