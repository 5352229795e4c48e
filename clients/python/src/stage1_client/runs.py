"""`client.runs`: log walk-forward runs with their folds and predictions, read, search, compare, update."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import msgspec

from stage1_client import _records as rec
from stage1_client._core import Call, Namespace, Op, compact, decode, operation, page, ref, to_builtins
from stage1_client.frames import As, frame_from_stream, frame_part
from stage1_client.models import Fold, Job, Page, Run, RunSaved

PATH = "/api/runs"


def run_id(value: Any) -> str:
    return ref(value, "run_id")


def folds_wire(folds: Sequence[Fold | dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    if folds is None:
        return None
    return [to_builtins(f) if isinstance(f, Fold) else dict(f) for f in folds]


class Runs(Namespace):
    @operation
    def log(
        self,
        dataset: Any,
        *,
        folds: Sequence[Fold | dict[str, Any]] | None = None,
        predictions: Any = None,
        hyperparameters: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
        name: str | None = None,
        tags: dict[str, str] | None = None,
        notes: str | None = None,
        target_column: str | None = None,
        feature_columns: Sequence[str] | None = None,
        walk_config: dict[str, Any] | None = None,
        status: str | None = None,
        prediction_measurement: str | None = None,
        started_at: Any = None,
        completed_at: Any = None,
        background: bool = False,
    ) -> Op[RunSaved | Job]:
        """Save a run of `dataset` (slug, id or Dataset), its folds and its predictions (a frame with
        timestamp, bar_index, fold_number, prediction, target and optional threshold_* columns, sent as an
        Arrow part). Retried safely: the Idempotency-Key makes a repeated send land once."""
        record = rec.dataset_field(dataset)
        record.update(
            compact(
                folds=folds_wire(folds),
                hyperparameters=hyperparameters,
                summary_metrics=metrics,
                name=name,
                tags=tags,
                notes=notes,
                target_column=target_column,
                feature_columns=None if feature_columns is None else list(feature_columns),
                walk_config=walk_config,
                status=status,
                prediction_measurement=prediction_measurement,
            )
        )
        record.update(rec.update_body(None, None, None, None, None, started_at, completed_at))
        reply = yield rec.save_call(PATH, "run", "predictions", record, predictions, background)
        return decode(reply, Job) if background else decode(reply, RunSaved)

    @operation
    def get(self, run: Any) -> Op[Run]:
        return decode((yield Call("GET", f"{PATH}/{run_id(run)}")), Run)

    @operation
    def list(
        self,
        *,
        dataset: Any = None,
        status: str | None = None,
        measurement: str | None = None,
        search: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        after: str | None = None,
    ) -> Op[Page[Run]]:
        params = rec.dataset_field(dataset) if dataset is not None else {}
        params.update(
            compact(status=status, measurement=measurement, search=search, limit=limit, offset=offset, after=after)
        )
        return page((yield Call("GET", PATH, params=params)), "runs", Run)

    @operation
    def predictions(
        self,
        run: Any,
        *,
        fold_number: int | None = None,
        start: Any = None,
        end: Any = None,
        limit: int | None = None,
        as_: As = "pandas",
    ) -> Op[Any]:
        params = compact(format="arrow", ts_unit="ms", fold_number=fold_number, limit=limit)
        params.update(compact(**{"from": start, "to": end}))
        reply = yield Call("GET", f"{PATH}/{run_id(run)}/predictions", params=params, large=True)
        return frame_from_stream(reply.content, as_)

    @operation
    def update(
        self,
        run: Any,
        *,
        status: str | None = None,
        name: str | None = None,
        tags: dict[str, str | None] | None = None,
        notes: str | None = None,
        metrics: dict[str, Any] | None = None,
        started_at: Any = None,
        completed_at: Any = None,
    ) -> Op[Run]:
        """Change status (PENDING → RUNNING → COMPLETED|FAILED), name, notes; merge tags and metrics (a key
        set to None is removed). Answers the full run."""
        body = rec.update_body(status, name, tags, notes, metrics, started_at, completed_at)
        return decode((yield Call("PATCH", f"{PATH}/{run_id(run)}", json=body)), Run)

    @operation
    def append(self, run: Any, predictions: Any) -> Op[dict[str, Any]]:
        """Append prediction rows to a run that is not COMPLETED or FAILED yet."""
        files = {"predictions": frame_part(predictions, "predictions")}
        reply = yield Call("POST", f"{PATH}/{run_id(run)}/predictions", files=files)
        return dict(reply.json() or {})

    @operation
    def set_folds(self, run: Any, folds: Sequence[Fold | dict[str, Any]]) -> Op[Run]:
        """Add or replace folds by fold_number while the run is open; answers the run with all its folds."""
        reply = yield Call("POST", f"{PATH}/{run_id(run)}/folds", json={"folds": folds_wire(folds)})
        return decode(reply, Run)

    @operation
    def delete(self, run: Any, *, cascade: bool | None = None, dry_run: bool | None = None) -> Op[dict[str, Any]]:
        reply = yield rec.delete_call(f"{PATH}/{run_id(run)}", cascade, dry_run)
        return dict(reply.json() or {})

    @operation
    def search(
        self,
        filter: str | None = None,
        *,
        order_by: str | Sequence[str] | None = None,
        fields: Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        after: str | None = None,
        count: bool | None = None,
        as_: As | Literal["records"] = "pandas",
    ) -> Op[Any]:
        """Runs matching `filter` (e.g. `"metrics.sharpe > 1 AND dataset.slug = 'btc_1h'"`), sorted by
        `order_by` (e.g. `"metrics.sharpe desc"`), one row per run; hyperparameters, metrics, walk config and
        tags are flattened into `params.*`, `metrics.*`, `walk.*` and `tags.*` columns."""
        return (yield from rec.search(PATH, "runs", filter, order_by, fields, limit, offset, after, count, as_))

    @operation
    def compare(self, runs: Sequence[Any]) -> Op[dict[str, Any]]:
        """Side by side: params, which params differ, metrics, per-fold metrics, dataset versions."""
        return dict((yield rec.compare_call(PATH, runs, "run_id")).json() or {})

    @operation
    def frame(
        self,
        run: Any,
        *,
        indicators: Sequence[str] | None = None,
        start: Any = None,
        end: Any = None,
        as_: As = "pandas",
    ) -> Op[Any]:
        """One row per bar of the run's span: OHLCV, indicators, then the prediction where there is one
        (matched on the exact bar time; null elsewhere, never carried forward)."""
        params = compact(format="arrow", ts_unit="ms", indicators=None if indicators is None else ",".join(indicators))
        params.update(compact(**{"from": start, "to": end}))
        reply = yield Call("GET", f"{PATH}/{run_id(run)}/frame", params=params, large=True)
        return frame_from_stream(reply.content, as_)


def fold(number: int, train: tuple[int, int], test: tuple[int, int], **extra: Any) -> Fold:
    """A fold from inclusive (start, end) bar-index pairs: `fold(0, (0, 499), (500, 599))`."""
    return msgspec.convert(
        {
            "fold_number": number,
            "train_start": train[0],
            "train_end": train[1],
            "test_start": test[0],
            "test_end": test[1],
            **extra,
        },
        Fold,
    )
