"""An import reports progress while its upload is checked (rows so far, no total yet), then writes toward the
total it counted; a preview reads the same checked frame and writes nothing."""

from __future__ import annotations

import pytest
from tests.unit.application.harness import Harness

from application import timeseries
from application.commands import ImportFrame
from domain.frames import FrameKind, OnError

pytestmark = pytest.mark.anyio

T0 = 1_704_067_200


def bars(harness: Harness, hours: list[int], close: list[object] | None = None) -> ImportFrame:
    upload = harness.frame(
        timestamp=[T0 + h * 3600 for h in hours],
        open=[1.0] * len(hours),
        high=[2.0] * len(hours),
        low=[0.5] * len(hours),
        close=close or [1.5] * len(hours),
        volume=[10.0] * len(hours),
    )
    return ImportFrame("bars", upload, FrameKind.OHLCV, granularity="1h")


async def test_progress_counts_checked_rows_without_a_total_then_written_rows_toward_it(harness: Harness) -> None:
    seen: list[tuple[int, int | None, str]] = []

    async def progress(rows: int, total: int | None, phase: str) -> None:
        seen.append((rows, total, phase))

    import_frame = harness.ports.bind(timeseries.import_frame)
    report = await import_frame(bars(harness, list(range(30))), progress)

    assert report.rows_written == 30
    assert seen[0] == (30, None, timeseries.CHECKED)
    assert seen[1] == (0, 30, timeseries.WRITTEN)
    assert seen[-1] == (30, 30, timeseries.WRITTEN)


async def test_a_preview_reports_gaps_and_skipped_rows_and_writes_nothing(harness: Harness) -> None:
    preview_import = harness.ports.bind(timeseries.preview_import)
    command = bars(harness, [0, 1, 2, 5, 6, 9], close=["1", "2", "x", "3", "4", "5"])
    command.on_error = OnError.SKIP

    preview = await preview_import(command)

    assert (preview.rows, preview.rejected_rows) == (5, 1)
    assert preview.rejected[0]["row"] == 3 and preview.rejected[0]["line"] is None
    assert preview.gaps is not None
    assert [(g.after_ts, g.missing_bars) for g in preview.gaps.largest] == [(T0 + 1 * 3600, 3), (T0 + 6 * 3600, 2)]
    assert await harness.store.describe("bars") is None  # type: ignore[arg-type]
