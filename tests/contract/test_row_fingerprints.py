"""Row fingerprints (the checksums of dataset versions) are equal for equal rows on every store.

One frame is written to the in-memory fake, DuckDB and QuestDB; each store's fingerprint of what it
holds must give the same checksum, and the same earliest difference after the same change.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from tests.contract.timeseries_fixtures import MINUTE_NS, START_NS, Harness, make_store, ohlcv, stream

from application.series_ports import WriteOptions
from domain.frames import FrameKind, WriteMode

pytestmark = [pytest.mark.anyio, pytest.mark.questdb]

KINDS = ("memory", "duckdb", "questdb")


def _indicators(rows: int) -> pa.Table:
    return pa.table(
        {
            "timestamp": pa.array([START_NS + i * MINUTE_NS for i in range(rows)], pa.timestamp("ns")),
            "rsi_14": [None if i % 5 == 0 else 30.0 + i for i in range(rows)],
            "regime": [("bull", "bear")[i % 2] for i in range(rows)],
            "count": pa.array(list(range(rows)), pa.int64()),
        }
    )


async def _checksums_after(tmp_path: Path, steps: list[tuple[pa.Table, FrameKind, WriteMode]]) -> dict[str, list]:
    """For each store: (checksum, earliest difference from the previous state) after each step."""
    seen: dict[str, list] = {}
    for kind in KINDS:
        harness = Harness(kind, make_store(kind, tmp_path / kind))
        try:
            name = harness.name("fp")
            before = await harness.store.fingerprint(name)
            seen[kind] = []
            for frame, frame_kind, mode in steps:
                await harness.store.write(name, stream(frame), WriteOptions(kind=frame_kind, mode=mode))
                after = await harness.store.fingerprint(name)
                seen[kind].append((after.checksum, after.first_difference(before)))
                before = after
        finally:
            await harness.cleanup()
    return seen


async def test_equal_rows_give_equal_checksums_and_changes_on_every_store(tmp_path: Path) -> None:
    bars = ohlcv(50)
    edited = bars.set_column(4, "close", pa.array([v + (1.0 if i == 30 else 0.0) for i, v in
                                                     enumerate(bars.column("close").to_pylist())]))
    newer = ohlcv(10, start_ns=START_NS + 50 * MINUTE_NS, seed=50.0)
    seen = await _checksums_after(
        tmp_path,
        [
            (bars, FrameKind.OHLCV, WriteMode.APPEND),
            (bars, FrameKind.OHLCV, WriteMode.APPEND),  # the same rows again: nothing changes
            (newer, FrameKind.OHLCV, WriteMode.APPEND),  # bars after the last one
            (edited, FrameKind.OHLCV, WriteMode.APPEND),  # one close changed at bar 30
            (edited, FrameKind.OHLCV, WriteMode.REPLACE),  # bars 50..59 are gone
        ],
    )
    assert seen["memory"] == seen["duckdb"] == seen["questdb"], seen
    steps = seen["memory"]
    assert steps[0][1] == START_NS
    assert steps[1] == (steps[0][0], None)
    assert steps[2][1] == START_NS + 50 * MINUTE_NS
    assert steps[3][1] == START_NS + 30 * MINUTE_NS
    assert steps[4][1] == START_NS + 50 * MINUTE_NS
    assert len({checksum for checksum, _ in steps}) == 4


async def test_nulls_text_and_integers_hash_alike_on_every_store(tmp_path: Path) -> None:
    seen = await _checksums_after(tmp_path, [(_indicators(40), FrameKind.INDICATORS, WriteMode.APPEND)])
    assert seen["memory"] == seen["duckdb"] == seen["questdb"], seen
    assert seen["memory"][0][1] == START_NS
