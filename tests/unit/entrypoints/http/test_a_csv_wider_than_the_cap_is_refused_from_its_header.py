"""A CSV header wider than STAGE1_MAX_CSV_COLUMNS is a 400 decided from the header alone: quickly and without
the memory a CSV parser spends per column (a 1,000,000-column header once took the server past 18 GB)."""

from __future__ import annotations

import time
from typing import Any

import psutil
import pytest
from litestar.testing import AsyncTestClient
from tests.unit.entrypoints.http.conftest import World

pytestmark = pytest.mark.anyio

CAP = 2_000  # the default of max_csv_columns
MIB = 1 << 20


def indicators_csv(columns: int) -> str:
    header = ",".join(["timestamp", *(f"i{n}" for n in range(columns - 1))])
    return header + "\n" + ",".join(["1704067200", *(["1"] * (columns - 1))]) + "\n"


async def timed(request: Any) -> tuple[Any, float, int]:
    """The answer, the seconds it took and how much this process's resident memory grew meanwhile."""
    process = psutil.Process()
    before = process.memory_info().rss
    started = time.perf_counter()
    answer = await request
    return answer, time.perf_counter() - started, process.memory_info().rss - before


def assert_refused_for_width(answer: Any, columns: int) -> None:
    assert answer.status_code == 400, answer.text
    assert answer.json()["details"] == {"line": 1, "columns": columns, "max_columns": CAP}


async def test_one_column_over_the_cap_is_a_400_on_import_within_a_second(
    client: AsyncTestClient,
    world: World,  # type: ignore[type-arg]
) -> None:
    body = indicators_csv(CAP + 1)
    answer, seconds, grown = await timed(
        client.post("/api/questdb/import", params={"measurement": "wide", "kind": "indicators"}, content=body,
                    headers={"Content-Type": "text/csv"})
    )  # fmt: skip
    assert_refused_for_width(answer, CAP + 1)
    assert seconds < 1.0 and grown < 50 * MIB
    assert await world.store.describe("wide") is None  # type: ignore[arg-type]
    assert world.leftover_uploads() == []


async def test_one_column_over_the_cap_is_a_400_on_dataset_create_within_a_second(
    client: AsyncTestClient,
    world: World,  # type: ignore[type-arg]
) -> None:
    payload = {"dataset_slug": "wide", "record_questdb": True, "indicator_csv": indicators_csv(CAP + 1)}
    answer, seconds, grown = await timed(client.post("/api/datasets", json=payload))
    assert_refused_for_width(answer, CAP + 1)
    assert seconds < 1.0 and grown < 50 * MIB
    assert world.leftover_uploads() == []


async def test_exactly_the_cap_is_accepted(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    answer = await client.post(
        "/api/questdb/import", params={"measurement": "at_cap", "kind": "indicators"}, content=indicators_csv(CAP),
        headers={"Content-Type": "text/csv"},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.json()["rows_written"] == 1


async def test_a_million_column_header_is_refused_without_the_memory_it_once_took(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    body = indicators_csv(1_000_000)
    answer, _, grown = await timed(
        client.post("/api/questdb/import", params={"measurement": "wider", "kind": "indicators"}, content=body,
                    headers={"Content-Type": "text/csv"})
    )  # fmt: skip
    assert answer.status_code == 400, answer.text
    assert answer.json()["details"]["max_columns"] == CAP
    # The body is ~10 MB; the parser alone once needed ~30 KB per column (30 GB here).
    assert grown < 200 * MIB
