"""Domain objects to wire structs. The only place that knows both."""

from __future__ import annotations

from typing import Any

from application.datasets import DatasetDetail, HierarchyNode
from application.job_events import public_payload
from application.ports import DatasetListing, MeasurementInfo
from domain.datasets import Dataset
from domain.jobs import Job
from domain.runs import Fold, WalkforwardRun
from domain.simulations import Simulation, Trade, TradeBucket
from domain.values import format_nanos
from entrypoints.http import schemas as s


def dataset_fields(d: Dataset) -> dict[str, Any]:
    return {
        "dataset_id": str(d.dataset_id),
        "dataset_slug": str(d.dataset_slug),
        "symbol": d.symbol,
        "granularity": d.granularity,
        "source": d.source,
        "ohlcv_measurement": str(d.ohlcv_measurement),
        "indicator_measurement": str(d.indicator_measurement),
        "ohlcv_rows": d.ohlcv_rows,
        "indicator_rows": d.indicator_rows,
        "ohlcv_first_ts": d.ohlcv_first_ts,
        "ohlcv_last_ts": d.ohlcv_last_ts,
        "indicator_first_ts": d.indicator_first_ts,
        "indicator_last_ts": d.indicator_last_ts,
        "metadata": d.metadata,
        "created_at": d.created_at,
        "updated_at": d.updated_at,
    }


def dataset_out(d: Dataset) -> s.DatasetOut:
    return s.DatasetOut(**dataset_fields(d))


def dataset_item(listing: DatasetListing) -> s.DatasetListItem:
    return s.DatasetListItem(
        **dataset_fields(listing.dataset),
        related_runs=listing.related_runs,
        related_simulations=listing.related_simulations,
    )


def dataset_links(base: str, dataset_id: str) -> s.DatasetLinks:
    root = f"{base}/api/datasets/{dataset_id}"
    return s.DatasetLinks(
        ohlcv=f"{root}/ohlcv", indicators=f"{root}/indicators", runs=f"{root}/runs", hierarchy=f"{root}/hierarchy"
    )


def dataset_detail(detail: DatasetDetail, base: str) -> s.DatasetDetailOut:
    listing = detail.listing
    return s.DatasetDetailOut(
        **dataset_fields(listing.dataset),
        related_runs=listing.related_runs,
        related_simulations=listing.related_simulations,
        questdb_state={k: s.MeasurementState(**v) for k, v in detail.questdb_state.items()},
        links=dataset_links(base, str(listing.dataset.dataset_id)),
    )


def hierarchy(dataset: Dataset, nodes: list[HierarchyNode]) -> s.HierarchyOut:
    return s.HierarchyOut(
        dataset_id=str(dataset.dataset_id),
        dataset_slug=str(dataset.dataset_slug),
        ohlcv_measurement=str(dataset.ohlcv_measurement),
        indicator_measurement=str(dataset.indicator_measurement),
        runs=[
            s.HierarchyRun(
                run_id=str(node.run.run_id),
                prediction_measurement=str(node.run.prediction_measurement),
                status=node.run.status.value,
                fold_count=node.run.fold_count,
                summary_metrics=node.run.summary_metrics,
                simulations=[
                    s.HierarchySimulation(
                        simulation_id=str(sim.simulation_id),
                        trades_measurement=str(sim.trades_measurement),
                        status=sim.status.value,
                        trade_count=sim.trade_count,
                        summary_metrics=sim.summary_metrics,
                    )
                    for sim in node.simulations
                ],
            )
            for node in nodes
        ],
    )


def run_summary_fields(r: WalkforwardRun) -> dict[str, Any]:
    return {
        "run_id": str(r.run_id),
        "dataset_id": str(r.dataset_id),
        "dataset_slug": str(r.dataset_slug),
        "prediction_measurement": str(r.prediction_measurement),
        "status": r.status.value,
        "target_column": r.target_column,
        "fold_count": r.fold_count,
        "started_at": r.started_at,
        "completed_at": r.completed_at,
        "created_at": r.created_at,
    }


def run_summary(r: WalkforwardRun) -> s.RunSummaryOut:
    return s.RunSummaryOut(**run_summary_fields(r))


def fold_out(f: Fold) -> s.FoldOut:
    return s.FoldOut(
        fold_number=f.fold_number,
        train_start=f.train_start,
        train_end=f.train_end,
        test_start=f.test_start,
        test_end=f.test_end,
        train_start_ts=f.train_start_ts,
        train_end_ts=f.train_end_ts,
        test_start_ts=f.test_start_ts,
        test_end_ts=f.test_end_ts,
        thresholds=f.thresholds,
        metrics=f.metrics,
    )


def run_out(r: WalkforwardRun, base: str) -> s.RunOut:
    return s.RunOut(
        **run_summary_fields(r),
        feature_columns=r.feature_columns,
        walk_config=r.walk_config,
        hyperparameters=r.hyperparameters,
        summary_metrics=r.summary_metrics,
        clipboard_text=r.clipboard_text,
        folds=[fold_out(f) for f in r.folds],
        links=s.RunLinks(predictions=f"{base}/api/runs/{r.run_id}/predictions"),
    )


def simulation_fields(sim: Simulation) -> dict[str, Any]:
    return {
        "simulation_id": str(sim.simulation_id),
        "run_id": str(sim.run_id),
        "dataset_id": str(sim.dataset_id),
        "trades_measurement": str(sim.trades_measurement),
        "status": sim.status.value,
        "config": sim.config,
        "summary_metrics": sim.summary_metrics,
        "trade_count": sim.trade_count,
        "started_at": sim.started_at,
        "completed_at": sim.completed_at,
        "created_at": sim.created_at,
    }


def simulation_summary(sim: Simulation) -> s.SimulationSummaryOut:
    return s.SimulationSummaryOut(**simulation_fields(sim))


def bucket_io(b: TradeBucket) -> s.TradeBucketIO:
    return s.TradeBucketIO(
        bucket=b.bucket,
        trade_count=b.trade_count,
        win_count=b.win_count,
        loss_count=b.loss_count,
        total_pnl=b.total_pnl,
        avg_pnl=b.avg_pnl,
        avg_return_pct=b.avg_return_pct,
        max_win=b.max_win,
        max_loss=b.max_loss,
    )


def simulation_out(sim: Simulation, base: str) -> s.SimulationOut:
    root = f"{base}/api/simulations/{sim.simulation_id}"
    return s.SimulationOut(
        **simulation_fields(sim),
        trade_buckets=[bucket_io(b) for b in sim.trade_buckets],
        links=s.SimulationLinks(trades=f"{root}/trades", equity=f"{root}/equity"),
    )


def _time(nanos: int | None, unit: str) -> int | str | None:
    return None if nanos is None else format_nanos(nanos, unit)


def trade_out(t: Trade, unit: str) -> s.TradeOut:
    return s.TradeOut(
        trade_id=t.trade_id,
        bar_timestamp=format_nanos(t.bar_timestamp, unit),
        entry_timestamp=_time(t.entry_timestamp, unit),
        exit_timestamp=_time(t.exit_timestamp, unit),
        side=t.side.value,
        entry_price=t.entry_price,
        exit_price=t.exit_price,
        quantity=t.quantity,
        pnl=t.pnl,
        return_pct=t.return_pct,
        fees=t.fees,
        fold_number=t.fold_number,
    )


def job_out(job: Job) -> s.JobOut:
    return s.JobOut(
        job_id=str(job.job_id),
        type=job.type,
        status=job.status.value,
        payload=public_payload(job.payload),
        progress=job.progress,
        total=job.total,
        message=job.message,
        result=job.result,
        error=job.error,
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        priority=job.priority,
        worker_id=job.worker_id,
        created_at=job.created_at,
        updated_at=job.updated_at,
        started_at=job.started_at,
        completed_at=job.completed_at,
    )


def measurement_fields(info: MeasurementInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "row_count": info.row_count,
        "first_ts": None if info.first_ns is None else info.first_ns // 10**9,
        "last_ts": None if info.last_ns is None else info.last_ns // 10**9,
        "designated_timestamp": info.designated_timestamp,
        "partition_by": info.partition_by,
    }
