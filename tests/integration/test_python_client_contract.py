"""The Python client covers the whole API, and behaves on the wire as promised: one Idempotency-Key per
logical write reused across its retries, typed errors carrying the envelope, frames sent as Arrow."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from stage1_client import (
    AsyncClient,
    Client,
    ConnectionFailed,
    InvalidInput,
    JobFailed,
    NotFound,
    RateLimited,
    ServerError,
    UpstreamError,
)
from stage1_client._records import flatten
from stage1_client.frames import read_stream, to_table, with_utc_times

from entrypoints.http.openapi_document import openapi_json

# Every operation of the API and the client method that reaches it. A route without a row fails the test
# below: add a method to clients/python (and a row here) with the route.
CLIENT_METHODS: dict[tuple[str, str], str] = {
    ("POST", "/api/auth/token"): "auth.create_token",
    ("GET", "/api/auth/tokens"): "auth.tokens",
    ("DELETE", "/api/auth/tokens/{}"): "auth.revoke",
    ("GET", "/api/datasets"): "datasets.list",
    ("POST", "/api/datasets"): "datasets.create",
    ("POST", "/api/datasets/backfill"): "datasets.backfill",
    ("GET", "/api/datasets/{}"): "datasets.get",
    ("DELETE", "/api/datasets/{}"): "datasets.delete",
    ("POST", "/api/datasets/{}/export"): "datasets.upload",
    ("GET", "/api/datasets/{}/hierarchy"): "datasets.hierarchy",
    ("GET", "/api/datasets/{}/ohlcv"): "datasets.bars",
    ("GET", "/api/datasets/{}/indicators"): "datasets.indicators",
    ("GET", "/api/datasets/{}/runs"): "datasets.runs",
    ("GET", "/api/datasets/{}/versions"): "datasets.versions",
    ("GET", "/api/events"): "events.stream",
    ("GET", "/api/health"): "health",
    ("GET", "/healthz"): "health",
    ("GET", "/metrics"): "metrics",
    ("GET", "/api/jobs"): "jobs.list",
    ("GET", "/api/jobs/{}"): "jobs.get",
    ("DELETE", "/api/jobs/{}"): "jobs.delete",
    ("POST", "/api/jobs/{}/cancel"): "jobs.cancel",
    ("POST", "/api/jobs/{}/retry"): "jobs.retry",
    ("GET", "/api/questdb/jobs/{}"): "jobs.get",
    ("POST", "/api/questdb/export"): "sql",
    ("POST", "/api/questdb/query"): "query",
    ("POST", "/api/questdb/import"): "imports.upload",
    ("POST", "/api/questdb/import/async"): "imports.upload",
    ("GET", "/api/questdb/measurements"): "measurements.list",
    ("GET", "/api/questdb/measurement/{}"): "measurements.get",
    ("DELETE", "/api/questdb/measurement/{}"): "measurements.delete",
    ("GET", "/api/maintenance/orphans"): "maintenance.orphans",
    ("GET", "/api/runs"): "runs.list",
    ("POST", "/api/runs"): "runs.log",
    ("POST", "/api/runs/search"): "runs.search",
    ("GET", "/api/runs/compare"): "runs.compare",
    ("GET", "/api/runs/{}"): "runs.get",
    ("PATCH", "/api/runs/{}"): "runs.update",
    ("DELETE", "/api/runs/{}"): "runs.delete",
    ("GET", "/api/runs/{}/predictions"): "runs.predictions",
    ("POST", "/api/runs/{}/predictions"): "runs.append",
    ("POST", "/api/runs/{}/folds"): "runs.set_folds",
    ("GET", "/api/runs/{}/frame"): "runs.frame",
    ("GET", "/api/simulations"): "simulations.list",
    ("POST", "/api/simulations"): "simulations.log",
    ("POST", "/api/simulations/search"): "simulations.search",
    ("GET", "/api/simulations/compare"): "simulations.compare",
    ("GET", "/api/simulations/{}"): "simulations.get",
    ("PATCH", "/api/simulations/{}"): "simulations.update",
    ("DELETE", "/api/simulations/{}"): "simulations.delete",
    ("GET", "/api/simulations/{}/equity"): "simulations.equity",
    ("GET", "/api/simulations/{}/trades"): "simulations.trades",
    # Legacy read aliases of the Stage 1.3 backend answer as the routes above.
    ("GET", "/api/indicators/datasets"): "datasets.list",
    ("GET", "/api/indicators/datasets/{}"): "datasets.get",
    ("GET", "/api/walkforward/runs"): "runs.list",
    ("GET", "/api/walkforward/runs/{}"): "runs.get",
    ("GET", "/api/tradesim/runs"): "simulations.list",
    ("GET", "/api/tradesim/runs/{}"): "simulations.get",
}
# Operations meant for the browser only, with the reason a script does not need them.
BROWSER_ONLY: dict[tuple[str, str], str] = {
    ("GET", "/"): "the web dashboard page",
    ("POST", "/api/auth/session"): "a cookie session for the dashboard; scripts send the token header",
    ("DELETE", "/api/auth/session"): "ends the dashboard's cookie session",
}
METHODS = {"get", "post", "put", "patch", "delete"}


def operations() -> set[tuple[str, str]]:
    document = json.loads(openapi_json())
    return {
        (method.upper(), re.sub(r"\{[^}]+\}", "{}", path))
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS and not path.startswith(("/schema", "/static", "/assets"))
    }


def resolve(owner: Any, dotted: str) -> Callable[..., Any]:
    target = owner
    for part in dotted.split("."):
        target = getattr(target, part)
    assert callable(target), dotted
    return target


def test_every_operation_of_the_openapi_document_has_a_client_method() -> None:
    missing = sorted(operations() - CLIENT_METHODS.keys() - BROWSER_ONLY.keys())
    assert not missing, f"routes without a method in clients/python (add one and a row to CLIENT_METHODS): {missing}"
    sync, asynchronous = Client("http://127.0.0.1:9"), AsyncClient("http://127.0.0.1:9")
    for dotted in CLIENT_METHODS.values():
        assert resolve(sync, dotted).__doc__ == resolve(asynchronous, dotted).__doc__


# ---------------------------------------------------------------- on the wire, against a scripted server


class Script:
    """A MockTransport answering from a list, recording every request it saw."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def client(self) -> Client:
        return Client("http://stage1.test", token="t0k", transport=httpx.MockTransport(self), backoff=0.001)


SAVED = {"run_id": "r1", "prediction_measurement": "m_wf", "questdb_rows_written": 2}
PREDICTIONS = {
    "timestamp": [1, 2],
    "bar_index": [0, 1],
    "fold_number": [0, 0],
    "prediction": [0.1, 0.2],
    "target": [0.0, 1.0],
}


def test_a_retried_write_sends_the_same_key_and_the_same_bytes_on_every_attempt() -> None:
    script = Script(
        httpx.ConnectError("refused"),
        httpx.Response(503, json={"error": "store down", "details": None}),
        httpx.Response(201, json=SAVED),
    )
    saved = script.client().runs.log("btc", predictions=PREDICTIONS, metrics={"sharpe": 1.0})
    assert saved.run_id == "r1"
    keys = {r.headers["Idempotency-Key"] for r in script.requests}
    bodies = {r.content for r in script.requests}
    assert len(script.requests) == 3 and len(keys) == 1 and len(bodies) == 1
    assert script.requests[0].headers["X-Stage1-Token"] == "t0k"
    assert b'name="predictions"; filename="predictions.arrows"' in script.requests[0].content


def test_two_logical_writes_send_two_keys() -> None:
    script = Script(httpx.Response(201, json=SAVED), httpx.Response(201, json=SAVED))
    client = script.client()
    client.runs.log("btc")
    client.runs.log("btc")
    assert script.requests[0].headers["Idempotency-Key"] != script.requests[1].headers["Idempotency-Key"]


def test_reads_carry_no_idempotency_key_and_send_only_the_parameters_given() -> None:
    script = Script(httpx.Response(200, json={"runs": [], "total": 0, "limit": 50, "offset": 0, "next_cursor": None}))
    script.client().runs.list(dataset="btc_1h", status="COMPLETED")
    request = script.requests[0]
    assert "Idempotency-Key" not in request.headers
    assert dict(request.url.params) == {"dataset_slug": "btc_1h", "status": "COMPLETED"}


def test_errors_are_typed_and_carry_the_envelope() -> None:
    line_error = {"error": "close: not a number", "details": {"line": 7, "row": 6, "column": "close", "value": "x"}}
    script = Script(
        httpx.Response(400, json=line_error),
        httpx.Response(404, json={"error": "no run r9", "details": None}),
        httpx.Response(502, json={"error": "QuestDB failed", "details": {"questdb": "boom"}}),
        httpx.Response(500, text="oops"),
    )
    client = script.client()
    with pytest.raises(InvalidInput) as bad:
        client.imports.upload({"timestamp": [1]}, "m", job=False, progress=False)
    assert (bad.value.line, bad.value.row, bad.value.column) == (7, 6, "close")
    with pytest.raises(NotFound, match="no run r9"):
        client.runs.get("r9")
    with pytest.raises(UpstreamError) as upstream:
        client.runs.get("r9")
    assert upstream.value.details == {"questdb": "boom"} and isinstance(upstream.value, ServerError)
    with pytest.raises(ServerError, match="oops"):
        client.runs.get("r9")


def test_rate_limits_past_the_retries_raise_with_retry_after() -> None:
    limited = httpx.Response(429, headers={"Retry-After": "0"}, json={"error": "slow down", "details": None})
    script = Script(*[limited] * 3)
    client = Client("http://stage1.test", transport=httpx.MockTransport(script), retries=2)
    with pytest.raises(RateLimited) as raised:
        client.datasets.list()
    assert raised.value.retry_after == 0 and len(script.requests) == 3


def test_a_network_that_never_answers_is_a_connection_failure() -> None:
    script = Script(*[httpx.ReadError("reset")] * 3)
    client = Client("http://stage1.test", transport=httpx.MockTransport(script), retries=2, backoff=0.001)
    with pytest.raises(ConnectionFailed):
        client.health()


def test_waiting_on_a_failed_job_raises_with_the_job() -> None:
    job = {"job_id": "j1", "type": "questdb_import", "status": "FAILED", "error": "bad row"}
    script = Script(httpx.Response(200, json={**job, "status": "RUNNING"}), httpx.Response(200, json=job))
    with pytest.raises(JobFailed, match="bad row") as failed:
        script.client().jobs.wait("j1", poll=0.001)
    assert failed.value.details["job_id"] == "j1"


@pytest.mark.anyio
async def test_the_async_client_retries_with_the_same_key() -> None:
    script = Script(httpx.RemoteProtocolError("dropped"), httpx.Response(201, json=SAVED))
    async with AsyncClient("http://stage1.test", transport=httpx.MockTransport(script), backoff=0.001) as client:
        assert (await client.runs.log("btc", predictions=PREDICTIONS)).run_id == "r1"
    assert len({r.headers["Idempotency-Key"] for r in script.requests}) == 1
    assert len({r.content for r in script.requests}) == 1


def test_search_flattens_params_metrics_and_tags_into_columns() -> None:
    item = {
        "run_id": "r1",
        "hyperparameters": {"eta": 0.1},
        "summary_metrics": {"sharpe": 1.5},
        "tags": {"owner": "ana"},
        "walk_config": {"embargo_bars": 2},
        "feature_columns": ["a"],
    }
    assert flatten(item) == {
        "run_id": "r1",
        "params.eta": 0.1,
        "metrics.sharpe": 1.5,
        "tags.owner": "ana",
        "walk.embargo_bars": 2,
    }
    simulation = {
        "simulation_id": "s1",
        "trade_buckets": [{"bucket": "all", "total_pnl": 4.5}],
        "dataset": {"dataset_slug": "btc"},
        "run": {"hyperparameters": {"lags": 5}},
        "config": {"fee": {"bp": 2}},
    }
    assert flatten(simulation) == {
        "simulation_id": "s1",
        "buckets.all.total_pnl": 4.5,
        "dataset.slug": "btc",
        "run.params.lags": 5,
        "config.fee.bp": 2,
    }
    script = Script(
        httpx.Response(200, json={"runs": [item], "total": None, "limit": 1, "offset": 0, "next_cursor": None})
    )
    frame = script.client().runs.search("metrics.sharpe > 1", order_by=["metrics.sharpe desc", "name"], limit=1)
    assert frame.loc[0, "metrics.sharpe"] == 1.5
    assert dict(script.requests[0].url.params) == {
        "filter": "metrics.sharpe > 1",
        "order_by": "metrics.sharpe desc, name",
        "fields": "name,status,dataset.slug,fold_count,created_at,completed_at,metrics.sharpe",
        "limit": "1",
    }
    long_filter = " OR ".join(f"params.eta = {i}" for i in range(200))
    script = Script(httpx.Response(200, json={"runs": []}))
    script.client().runs.search(long_filter, as_="records")
    assert script.requests[0].method == "POST" and script.requests[0].url.path == "/api/runs/search"


@given(st.lists(st.integers(min_value=-(2**40), max_value=2**41), max_size=20))
def test_epoch_milliseconds_read_back_as_the_same_utc_instants(millis: list[int]) -> None:
    table = with_utc_times(read_stream(_stream(pa.table({"timestamp": pa.array(millis, pa.int64())}))))
    assert table.schema.field("timestamp").type == pa.timestamp("ms", tz="UTC")
    assert table.column("timestamp").cast(pa.int64()).to_pylist() == millis


def test_frames_from_pandas_keep_a_datetime_index_as_the_timestamp_column() -> None:
    import pandas as pd
    import polars as pl

    frame = pd.DataFrame({"close": [1.0, 2.0]}, index=pd.date_range("2024-01-01", periods=2, freq="h", tz="UTC"))
    assert to_table(frame).column_names == ["timestamp", "close"]
    assert to_table(pl.DataFrame({"a": [1]})).column_names == ["a"]
    assert to_table([{"a": 1}, {"a": 2}]).num_rows == 2


def _stream(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())
