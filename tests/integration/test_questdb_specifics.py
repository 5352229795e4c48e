"""What only the QuestDB store promises: the table's shape in QuestDB, its errors relayed, its failures."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import anyio
import pyarrow as pa
import pytest
from tests.contract.timeseries_fixtures import HOUR_NS, START_NS, ohlcv, questdb_urls, read_all, stream

from adapters.questdb import QuestDBTimeSeriesStore
from adapters.questdb.http import QuestDBHttp
from application.series_ports import RangeQuery, WriteOptions
from domain.errors import InvalidInput, StoreUnavailable, UpstreamError
from domain.frames import FrameKind, WriteMode
from domain.values import MeasurementName

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.questdb,
    pytest.mark.filterwarnings("ignore:questdb.Sender. Detected a burst"),
]

UNREACHABLE_HTTP = "http://127.0.0.1:1"
UNREACHABLE_PG = "postgresql://stage1_reader:stage1_reader@127.0.0.1:1/qdb"


@pytest.fixture
async def questdb() -> AsyncIterator[tuple[QuestDBTimeSeriesStore, QuestDBHttp, list[str]]]:
    http_url, pg_url = questdb_urls()
    store = QuestDBTimeSeriesStore(http_url, pg_url=pg_url)
    http = QuestDBHttp(http_url)
    made: list[str] = []
    try:
        yield store, http, made
    finally:
        for name in made:
            await store.drop(MeasurementName(name))
        await store.close()
        await http.close()


def fresh(made: list[str], stem: str) -> MeasurementName:
    name = f"qi_{stem}_{uuid4().hex[:10]}"
    made.append(name)
    return MeasurementName(name)


async def table_row(http: QuestDBHttp, name: str) -> dict[str, Any]:
    answer = await http.exec(f"tables() WHERE table_name = '{name}'")
    names = [column["name"] for column in answer["columns"]]
    return dict(zip(names, answer["dataset"][0], strict=True))


@pytest.mark.parametrize(
    ("kind", "granularity", "partitioning"),
    [
        (FrameKind.OHLCV, "1s", "DAY"),
        (FrameKind.OHLCV, "1m", "MONTH"),
        (FrameKind.INDICATORS, "1h", "MONTH"),
        (FrameKind.OHLCV, "4h", "YEAR"),
        (FrameKind.OHLCV, "1d", "YEAR"),
        (FrameKind.GENERIC, None, "MONTH"),
    ],
)
async def test_a_new_measurement_is_a_wal_table_with_designated_timestamp_dedup_and_partitioning(
    questdb: tuple[QuestDBTimeSeriesStore, QuestDBHttp, list[str]],
    kind: FrameKind,
    granularity: str | None,
    partitioning: str,
) -> None:
    store, http, made = questdb
    name = fresh(made, "shape")

    await store.write(name, stream(ohlcv(3)), WriteOptions(kind=kind, granularity=granularity))

    row = await table_row(http, name)
    assert row["designatedTimestamp"] == "timestamp"
    assert row["walEnabled"] is True
    assert row["dedup"] is True
    assert row["partitionBy"] == partitioning
    info = await store.describe(name)
    assert info is not None and info.partition_by == partitioning and info.partition_count == 1


async def test_prediction_and_trade_tables_dedup_on_their_keys_and_store_side_as_a_symbol(
    questdb: tuple[QuestDBTimeSeriesStore, QuestDBHttp, list[str]],
) -> None:
    store, http, made = questdb
    name = fresh(made, "trades")
    frame = pa.table(
        {
            "timestamp": pa.array([START_NS, START_NS], pa.timestamp("ns")),
            "trade_id": pa.array([1, 2], pa.int64()),
            "side": ["long", "short"],
            "entry_price": [1.0, 2.0],
            "exit_price": [1.5, 1.0],
            "pnl": [0.5, 1.0],
        }
    )

    await store.write(name, stream(frame), WriteOptions(kind=FrameKind.TRADES))

    columns = (await http.exec(f"table_columns('{name}')"))["dataset"]
    by_name = {row[0]: row for row in columns}
    assert [row[0] for row in columns if row[8]] == ["timestamp", "trade_id"]
    assert by_name["side"][1] == "SYMBOL"
    assert (await table_row(http, name))["partitionBy"] == "MONTH"


async def test_a_write_has_been_applied_when_it_returns(
    questdb: tuple[QuestDBTimeSeriesStore, QuestDBHttp, list[str]],
) -> None:
    store, http, made = questdb
    name = fresh(made, "ryw")

    await store.write(name, stream(ohlcv(120_000), 20_000), WriteOptions(kind=FrameKind.OHLCV, granularity="1m"))

    counted = await http.dataset(f"SELECT count() FROM {name}")
    wal = await http.dataset(f"SELECT writerTxn, sequencerTxn FROM wal_tables() WHERE name = '{name}'")
    assert counted == [[120_000]]
    assert wal[0][0] == wal[0][1]


async def test_replacing_a_measurement_twice_with_one_store_keeps_the_rows(
    questdb: tuple[QuestDBTimeSeriesStore, QuestDBHttp, list[str]],
) -> None:
    # An ILP connection that wrote to a table loses rows sent after that table is dropped and created
    # again; the store must not reuse one across writes.
    store, _, made = questdb
    name = fresh(made, "replace")

    for seed in (0.0, 1.0, 2.0):
        await store.write(name, stream(ohlcv(5, seed=seed)), WriteOptions(kind=FrameKind.OHLCV, mode=WriteMode.REPLACE))

    back, _ = await read_all(store, RangeQuery(name, columns=["open"]))
    assert back.column("open").to_pylist() == [102.0, 103.0, 104.0, 105.0, 106.0]


async def test_text_with_control_characters_survives_the_csv_stream(
    questdb: tuple[QuestDBTimeSeriesStore, QuestDBHttp, list[str]],
) -> None:
    store, _, made = questdb
    name = fresh(made, "text")
    texts = ["line\nbreak", "tab\there", 'quote " and \\ backslash', "\\n literally", "bell\x07", "€ 😀", ""]
    frame = pa.table(
        {"timestamp": pa.array([START_NS + i * HOUR_NS for i in range(len(texts))], pa.timestamp("ns")), "note": texts}
    )

    await store.write(name, stream(frame))

    back, _ = await read_all(store, RangeQuery(name))
    assert back.column("note").to_pylist() == texts


async def test_the_native_iso_export_is_questdbs_own_csv(
    questdb: tuple[QuestDBTimeSeriesStore, QuestDBHttp, list[str]],
) -> None:
    store, _, made = questdb
    name = fresh(made, "iso")
    await store.write(name, stream(ohlcv(1)), WriteOptions(kind=FrameKind.OHLCV))

    text = b"".join([chunk async for chunk in store.export_csv(RangeQuery(name, columns=["open"]), "iso")])

    assert text.decode().splitlines() == ['timestamp,open', '"2024-01-01T00:00:00.000000Z",100.0']


async def test_a_questdb_error_is_relayed_verbatim(
    questdb: tuple[QuestDBTimeSeriesStore, QuestDBHttp, list[str]],
) -> None:
    store, http, made = questdb
    name = fresh(made, "error")
    await store.write(name, stream(ohlcv(1)), WriteOptions(kind=FrameKind.OHLCV))

    # A user's mistake is a 400 with QuestDB's own words (the contract's amendment); the raw REST call relays them too.
    with pytest.raises(InvalidInput) as over_pg:
        await store.query(f"SELECT nope FROM {name}", limit=1, timeout=5)
    with pytest.raises(UpstreamError) as over_http:
        await http.exec(f"SELECT nope FROM {name}")

    assert "Invalid column: nope" in str(over_pg.value) + str(over_pg.value.details)
    assert over_http.value.details["questdb"] == "Invalid column: nope"
    assert over_http.value.details["position"] == 7


async def test_an_export_error_is_relayed_verbatim_too(
    questdb: tuple[QuestDBTimeSeriesStore, QuestDBHttp, list[str]],
) -> None:
    store, http, made = questdb
    name = fresh(made, "exp_error")
    await store.write(name, stream(ohlcv(1)), WriteOptions(kind=FrameKind.OHLCV))

    with pytest.raises(UpstreamError) as over_exp:
        async with http.export(f"SELECT nope FROM {name}", 5) as chunks:
            async for _ in chunks:
                pass

    assert over_exp.value.details == {"questdb": "Invalid column: nope", "position": 7}


async def exporting(http: QuestDBHttp, marker: str) -> bool:
    return any(marker in str(row[0]) for row in await http.dataset("SELECT query FROM query_activity()"))


async def test_an_export_left_early_stops_questdbs_statement_within_a_second(
    questdb: tuple[QuestDBTimeSeriesStore, QuestDBHttp, list[str]],
) -> None:
    _, http, _ = questdb
    marker = f"left_{uuid4().hex[:12]}"
    # Far more rows than are read; the marker finds the statement in query_activity().
    large = f"SELECT x AS {marker}, rnd_double() AS close FROM long_sequence(200000000)"

    async with http.export(large, 60) as chunks:
        async for _ in chunks:
            break
        assert await exporting(http, marker)

    left = time.monotonic()
    for _ in range(1000):
        if not await exporting(http, marker):
            return
        assert time.monotonic() - left < 1.0, "QuestDB still runs the statement a second after the export was left"
        await anyio.sleep(0.05)


async def test_an_unreachable_questdb_is_store_unavailable() -> None:
    store = QuestDBTimeSeriesStore(UNREACHABLE_HTTP, pg_url=UNREACHABLE_PG)
    name = MeasurementName("qi_unreachable")
    try:
        with pytest.raises(StoreUnavailable):
            await store.describe(name)
        with pytest.raises(StoreUnavailable):
            await store.write(name, stream(ohlcv(1)), WriteOptions(kind=FrameKind.OHLCV))
        with pytest.raises(StoreUnavailable):
            await read_all(store, RangeQuery(name))
        with pytest.raises(StoreUnavailable):
            await store.query("SELECT 1", limit=1, timeout=5)
        assert (await store.ping())["status"] == "down"
    finally:
        await store.close()


async def test_an_unreachable_ilp_endpoint_is_store_unavailable(
    questdb: tuple[QuestDBTimeSeriesStore, QuestDBHttp, list[str]],
) -> None:
    http_url, _ = questdb_urls()
    _, _, made = questdb
    store = QuestDBTimeSeriesStore(http_url, ilp="127.0.0.1:1")
    try:
        with pytest.raises(StoreUnavailable):
            await store.write(fresh(made, "noilp"), stream(ohlcv(1)), WriteOptions(kind=FrameKind.OHLCV))
    finally:
        await store.close()
