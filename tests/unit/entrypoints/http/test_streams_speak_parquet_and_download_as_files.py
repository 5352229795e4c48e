"""Every stream route speaks Parquet, names a file with `download=true`, writes real time types with
`ts_unit=timestamp`, and sends CSV with exactly one charset."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.ipc as pa_ipc
import pyarrow.parquet as pq
import pytest
from litestar.testing import AsyncTestClient
from tests.unit.entrypoints.http.test_desktop_flows_over_http import create_dataset

pytestmark = pytest.mark.anyio
T0 = 1704067200


async def saved_run_and_simulation(client: AsyncTestClient) -> tuple[str, str]:  # type: ignore[type-arg]
    await create_dataset(client)
    predictions = [
        {"timestamp": T0 + i * 3600, "bar_index": i, "fold_number": 1, "prediction": 0.5, "target": 1}
        for i in range(24, 30)
    ]
    run = await client.post(
        "/api/runs",
        json={
            "dataset_slug": "btc25_3",
            "folds": [{"fold_number": 1, "train_start": 0, "train_end": 23, "test_start": 24, "test_end": 35}],
            "predictions": predictions,
        },
    )
    assert run.status_code == 201, run.text
    trade = {
        "bar_timestamp": T0,
        "entry_timestamp": T0,
        "exit_timestamp": T0 + 3600,
        "side": "long",
        "entry_price": 100,
        "exit_price": 101,
        "quantity": 1,
        "pnl": 1.0,
        "return_pct": 1.0,
        "fees": 0.0,
    }
    simulation = await client.post("/api/simulations", json={"run_id": run.json()["run_id"], "trades": [trade]})
    assert simulation.status_code == 201, simulation.text
    return run.json()["run_id"], simulation.json()["simulation_id"]


async def test_each_stream_answers_parquet_with_utc_times_and_a_file_name_when_downloaded(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    run_id, simulation_id = await saved_run_and_simulation(client)
    routes = {
        "/api/datasets/btc25_3/ohlcv": ("btc25_3_ohlcv.parquet", "timestamp", 48),
        "/api/datasets/btc25_3/indicators": ("btc25_3_ind.parquet", "timestamp", 48),
        f"/api/runs/{run_id}/predictions": (None, "timestamp", 6),
        f"/api/simulations/{simulation_id}/trades": (f"trades_{simulation_id}.parquet", "bar_timestamp", 1),
    }
    for path, (filename, time_column, rows) in routes.items():
        response = await client.get(path, params={"format": "parquet", "download": "true"})
        assert response.status_code == 200, (path, response.text)
        assert response.headers["content-type"] == "application/vnd.apache.parquet"
        disposition = response.headers["content-disposition"]
        assert disposition.startswith('attachment; filename="') and disposition.endswith('.parquet"'), disposition
        if filename is not None:
            assert disposition == f'attachment; filename="{filename}"'
        table = pq.read_table(io.BytesIO(response.content))
        assert table.num_rows == rows, path
        assert pa.types.is_timestamp(table.schema.field(time_column).type), path
        assert table.schema.field(time_column).type.tz == "UTC", path
    plain = await client.get("/api/datasets/btc25_3/ohlcv", params={"format": "parquet"})
    assert "content-disposition" not in plain.headers


async def test_the_sql_export_speaks_parquet_and_downloads_as_a_file(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await create_dataset(client)
    response = await client.post(
        "/api/questdb/export",
        params={"download": "true"},
        json={"sql": "SELECT timestamp, close FROM btc25_3_ohlcv", "format": "parquet"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == 'attachment; filename="export.parquet"'
    table = pq.read_table(io.BytesIO(response.content))
    assert table.num_rows == 48 and table.schema.field("timestamp").type.tz == "UTC"


async def test_ts_unit_timestamp_gives_arrow_a_time_type_and_csv_iso_text(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await create_dataset(client)
    arrow = await client.get("/api/datasets/btc25_3/ohlcv", params={"format": "arrow", "ts_unit": "timestamp"})
    table = pa_ipc.open_stream(arrow.content).read_all()
    assert table.schema.field("timestamp").type.tz == "UTC"
    assert table.column("timestamp")[0].as_py().timestamp() == T0
    default = pa_ipc.open_stream(
        (await client.get("/api/datasets/btc25_3/ohlcv", params={"format": "arrow"})).content
    ).read_all()
    assert default.column("timestamp")[0].as_py() == T0 * 1000  # Arrow keeps epoch ms unless asked
    csv = await client.get("/api/datasets/btc25_3/ohlcv", params={"format": "csv", "ts_unit": "timestamp"})
    assert csv.text.splitlines()[1].startswith("2024-01-01T00:00:00Z,")


async def test_csv_names_its_charset_once(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    await create_dataset(client)
    response = await client.get("/api/datasets/btc25_3/ohlcv", params={"format": "csv"})
    assert response.headers["content-type"] == "text/csv; charset=utf-8"


async def test_an_unknown_time_unit_is_a_400_on_a_stream(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    await create_dataset(client)
    response = await client.get("/api/datasets/btc25_3/ohlcv", params={"ts_unit": "fortnights"})
    assert response.status_code == 400 and response.json()["details"] == {"field": "ts_unit"}
