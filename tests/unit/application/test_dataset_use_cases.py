"""Dataset use cases through in-memory fakes: upsert by slug, frames with their counts, lookups by id or slug."""

from __future__ import annotations

import pytest
from tests.unit.application.harness import Harness

from application.commands import UploadDatasetFrames, UpsertDataset
from application.dataset_queries import dataset_detail, get_dataset, list_datasets
from application.datasets import upload_dataset_frames, upsert_dataset
from application.ports import DatasetFilter
from application.series_ports import FrameUpload
from domain.datasets import DatasetChanges
from domain.errors import InvalidInput, NotFound
from domain.frames import FrameKind, WriteMode
from domain.paging import PageRequest

pytestmark = pytest.mark.anyio
START = 1_704_067_200


def bars(harness: Harness, n: int, start: int = START) -> FrameUpload:
    return harness.frame(
        timestamp=[start + i * 3600 for i in range(n)],
        open=[1.0] * n,
        high=[2.0] * n,
        low=[0.5] * n,
        close=[1.5] * n,
        volume=[10.0] * n,
    )


async def test_a_new_slug_is_created_and_the_same_slug_again_updates_it(harness: Harness) -> None:
    upsert = harness.ports.bind(upsert_dataset)
    first = await upsert(UpsertDataset("btc_4h", DatasetChanges(symbol="BTC", granularity="4h")))
    second = await upsert(UpsertDataset("btc_4h", DatasetChanges(source="binance")))
    assert (first.created, second.created) == (True, False)
    assert second.dataset.dataset_id == first.dataset.dataset_id
    assert (second.dataset.symbol, second.dataset.granularity, second.dataset.source) == ("BTC", "4h", "binance")
    assert len(harness.metadata.datasets) == 1


async def test_a_dataset_created_with_bars_records_the_counts_and_bounds_the_store_holds(harness: Harness) -> None:
    saved = await harness.ports.bind(upsert_dataset)(
        UpsertDataset("eth", DatasetChanges(symbol="ETH", granularity="1h"), {FrameKind.OHLCV: bars(harness, 24)})
    )
    dataset = saved.dataset
    assert (dataset.ohlcv_rows, dataset.ohlcv_first_ts, dataset.ohlcv_last_ts) == (24, START, START + 23 * 3600)
    assert dataset.ohlcv_measurement == "eth_ohlcv"
    assert (await harness.store.describe("eth_ohlcv")).row_count == 24


async def test_uploaded_bars_append_and_replace_as_asked(harness: Harness) -> None:
    await harness.ports.bind(upsert_dataset)(
        UpsertDataset("eth", DatasetChanges(symbol="ETH", granularity="1h"), {FrameKind.OHLCV: bars(harness, 10)})
    )
    upload = harness.ports.bind(upload_dataset_frames)
    appended = await upload(UploadDatasetFrames("eth", {FrameKind.OHLCV: bars(harness, 5, START + 10 * 3600)}))
    assert appended.dataset.ohlcv_rows == 15
    replaced = await upload(UploadDatasetFrames("eth", {FrameKind.OHLCV: bars(harness, 3)}, WriteMode.REPLACE))
    assert (replaced.dataset.ohlcv_rows, replaced.dataset.ohlcv_last_ts) == (3, START + 2 * 3600)


async def test_a_dataset_is_found_by_its_id_or_its_slug_and_an_unknown_one_is_not_found(harness: Harness) -> None:
    saved = await harness.ports.bind(upsert_dataset)(UpsertDataset("sol", DatasetChanges(symbol="SOL")))
    get = harness.ports.bind(get_dataset)
    assert (await get("sol")).dataset_id == saved.dataset.dataset_id
    assert (await get(str(saved.dataset.dataset_id))).dataset_slug == "sol"
    with pytest.raises(NotFound):
        await get("nope")
    with pytest.raises(NotFound):
        await harness.ports.bind(dataset_detail)("nope")


async def test_a_bad_slug_or_granularity_is_refused_before_anything_is_stored(harness: Harness) -> None:
    upsert = harness.ports.bind(upsert_dataset)
    with pytest.raises(InvalidInput):
        await upsert(UpsertDataset("Not A Slug", DatasetChanges()))
    with pytest.raises(InvalidInput):
        await upsert(UpsertDataset("ok", DatasetChanges(granularity="1hour")))
    assert len(harness.metadata.datasets) == 0


async def test_datasets_are_listed_with_filters_on_symbol(harness: Harness) -> None:
    upsert = harness.ports.bind(upsert_dataset)
    await upsert(UpsertDataset("btc_1h", DatasetChanges(symbol="BTC", granularity="1h")))
    await upsert(UpsertDataset("eth_1h", DatasetChanges(symbol="ETH", granularity="1h")))
    page = await harness.ports.bind(list_datasets)(DatasetFilter(symbol="ETH"), PageRequest(limit=10))
    assert [item.dataset.dataset_slug for item in page.items] == ["eth_1h"]
