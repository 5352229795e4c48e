"""`client.datasets`: create with frames, read bars and indicators as frames, list, inspect, delete."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from stage1_client._core import Call, Namespace, Op, compact, decode, operation, page, ref
from stage1_client.frames import As, frame_from_stream, frame_part
from stage1_client.models import Dataset, Job, Page, Run

ARROW = {"format": "arrow", "ts_unit": "ms"}


def frames_body(meta: dict[str, Any], ohlcv: Any, indicators: Any) -> dict[str, Any]:
    """A JSON body without frames; multipart with a `metadata` part and Arrow file parts with them."""
    if ohlcv is None and indicators is None:
        return {"json": meta}
    files = {}
    if ohlcv is not None:
        files["ohlcv"] = frame_part(ohlcv, "ohlcv")
    if indicators is not None:
        files["indicators"] = frame_part(indicators, "indicators")
    return {"data": {"metadata": msgspec.json.encode(meta).decode()}, "files": files}


class Datasets(Namespace):
    @operation
    def create(
        self,
        slug: str,
        symbol: str | None = None,
        granularity: str | None = None,
        *,
        ohlcv: Any = None,
        indicators: Any = None,
        source: str | None = None,
        metadata: dict[str, Any] | None = None,
        ohlcv_measurement: str | None = None,
        indicator_measurement: str | None = None,
        mode: str | None = None,
        allow_change: bool | None = None,
    ) -> Op[Dataset]:
        """Create or update the dataset `slug`; frames (pandas, polars, Arrow) are written to the time-series
        store and the server computes counts and bounds."""
        meta = compact(
            dataset_slug=slug,
            symbol=symbol,
            granularity=granularity,
            source=source,
            metadata=metadata,
            ohlcv_measurement=ohlcv_measurement,
            indicator_measurement=indicator_measurement,
        )
        params = compact(mode=mode, allow_change=allow_change)
        reply = yield Call("POST", "/api/datasets", params=params, **frames_body(meta, ohlcv, indicators))
        return decode(reply, Dataset)

    @operation
    def upload(
        self,
        dataset: Any,
        *,
        ohlcv: Any = None,
        indicators: Any = None,
        mode: str | None = None,
        background: bool = False,
    ) -> Op[Dataset | Job]:
        """Add (or with mode="replace", replace) the OHLCV and/or indicator rows of an existing dataset;
        `background=True` queues a job and answers it (follow it with `jobs.wait`)."""
        if ohlcv is None and indicators is None:
            raise ValueError("upload needs ohlcv and/or indicators")
        key = ref(dataset, "dataset_slug", "dataset_id")
        body = frames_body({}, ohlcv, indicators)
        body.pop("data", None)
        params = compact(mode=mode, **{"async": True if background else None})
        reply = yield Call("POST", f"/api/datasets/{key}/export", params=params, **body)
        answer = reply.json() or {}
        return msgspec.convert(answer, Job) if "job_id" in answer else msgspec.convert(answer, Dataset)

    @operation
    def get(self, dataset: Any) -> Op[Dataset]:
        reply = yield Call("GET", f"/api/datasets/{ref(dataset, 'dataset_slug', 'dataset_id')}")
        return decode(reply, Dataset)

    @operation
    def list(
        self,
        *,
        symbol: str | None = None,
        granularity: str | None = None,
        search: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        after: str | None = None,
    ) -> Op[Page[Dataset]]:
        params = compact(symbol=symbol, granularity=granularity, search=search, limit=limit, offset=offset, after=after)
        return page((yield Call("GET", "/api/datasets", params=params)), "datasets", Dataset)

    @operation
    def delete(self, dataset: Any, *, cascade: bool | None = None, dry_run: bool | None = None) -> Op[dict[str, Any]]:
        """Delete the dataset (with cascade=True, its runs and simulations too); answers what went."""
        key = ref(dataset, "dataset_slug", "dataset_id")
        reply = yield Call("DELETE", f"/api/datasets/{key}", params=compact(cascade=cascade, dry_run=dry_run))
        return dict(reply.json() or {})

    def _frame(
        self,
        stream: str,
        dataset: Any,
        start: Any,
        end: Any,
        columns: Sequence[str] | None,
        sample_by: str | None,
        limit: int | None,
        as_: As,
    ) -> Op[Any]:
        key = ref(dataset, "dataset_slug", "dataset_id")
        params = compact(**ARROW, columns=columns, sample_by=sample_by, limit=limit)
        params.update(compact(**{"from": start, "to": end}))
        reply = yield Call("GET", f"/api/datasets/{key}/{stream}", params=params, large=True)
        return frame_from_stream(reply.content, as_)

    @operation
    def bars(
        self,
        dataset: Any,
        start: Any = None,
        end: Any = None,
        *,
        columns: Sequence[str] | None = None,
        sample_by: str | None = None,
        limit: int | None = None,
        as_: As = "pandas",
    ) -> Op[Any]:
        """OHLCV rows between `start` and `end` (epoch seconds, ISO text or datetimes), read as an Arrow stream;
        `timestamp` is a UTC timestamp column. `sample_by="1h"` aggregates on the server."""
        return (yield from self._frame("ohlcv", dataset, start, end, columns, sample_by, limit, as_))

    @operation
    def indicators(
        self,
        dataset: Any,
        start: Any = None,
        end: Any = None,
        *,
        columns: Sequence[str] | None = None,
        sample_by: str | None = None,
        limit: int | None = None,
        as_: As = "pandas",
    ) -> Op[Any]:
        return (yield from self._frame("indicators", dataset, start, end, columns, sample_by, limit, as_))

    @operation
    def runs(
        self,
        dataset: Any,
        *,
        status: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        after: str | None = None,
    ) -> Op[Page[Run]]:
        key = ref(dataset, "dataset_slug", "dataset_id")
        params = compact(status=status, limit=limit, offset=offset, after=after)
        return page((yield Call("GET", f"/api/datasets/{key}/runs", params=params)), "runs", Run)

    @operation
    def hierarchy(self, dataset: Any) -> Op[dict[str, Any]]:
        reply = yield Call("GET", f"/api/datasets/{ref(dataset, 'dataset_slug', 'dataset_id')}/hierarchy")
        return dict(reply.json() or {})

    @operation
    def versions(
        self, dataset: Any, *, limit: int | None = None, offset: int | None = None, after: str | None = None
    ) -> Op[Page[dict[str, Any]]]:
        key = ref(dataset, "dataset_slug", "dataset_id")
        params = compact(limit=limit, offset=offset, after=after)
        return page((yield Call("GET", f"/api/datasets/{key}/versions", params=params)), "versions", dict)

    @operation
    def backfill(
        self,
        slug: str,
        symbol: str,
        granularity: str,
        ohlcv_measurement: str,
        indicator_measurement: str,
    ) -> Op[Dataset]:
        """Register a dataset from measurements already in the time-series store."""
        body = compact(
            dataset_slug=slug,
            symbol=symbol,
            granularity=granularity,
            ohlcv_measurement=ohlcv_measurement,
            indicator_measurement=indicator_measurement,
        )
        return decode((yield Call("POST", "/api/datasets/backfill", json=body)), Dataset)
