"""The use cases the routes call, bound to the opened ports at start-up and handed to handlers by Litestar's
DI under their own names: a handler asks for `save_run: UseCase[RunSaved]` and never sees a store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from litestar.datastructures import State
from litestar.di import Provide

from application import (
    auth,
    dataset_preview,
    dataset_queries,
    datasets,
    deletion,
    events,
    health,
    jobs,
    maintenance,
    run_frame,
    runs,
    search,
    simulations,
    timeseries,
    updates,
)
from entrypoints.container import OpenPorts

T = TypeVar("T")

UseCase = Callable[..., Awaitable[T]]
StreamingUseCase = Callable[..., AsyncIterator[T]]

ROUTED: tuple[Callable[..., Any], ...] = (
    datasets.upsert_dataset,
    datasets.upload_dataset_frames,
    datasets.backfill_dataset,
    dataset_preview.preview_dataset_frames,
    dataset_queries.get_dataset,
    dataset_queries.list_datasets,
    dataset_queries.dataset_detail,
    dataset_queries.dataset_hierarchy,
    dataset_queries.dataset_versions,
    dataset_queries.read_dataset_frame,
    runs.save_run,
    runs.append_predictions,
    runs.list_runs,
    runs.runs_of_dataset,
    runs.get_run,
    runs.read_predictions,
    run_frame.read_run_frame,
    search.search_runs,
    updates.update_run,
    updates.add_folds,
    updates.update_simulation,
    search.search_simulations,
    search.compare_runs,
    search.compare_simulations,
    simulations.save_simulation,
    simulations.list_simulations,
    simulations.get_simulation,
    simulations.trades_page,
    simulations.read_trades,
    simulations.trades_as_batches,
    simulations.simulation_equity,
    timeseries.import_frame,
    timeseries.preview_import,
    timeseries.check_import_target,
    timeseries.list_measurements,
    timeseries.describe_measurement,
    timeseries.run_query,
    timeseries.export_query,
    jobs.submit_job,
    jobs.get_job,
    jobs.list_jobs,
    jobs.cancel_job,
    jobs.retry_job,
    jobs.delete_job,
    deletion.delete_record,
    deletion.delete_measurement,
    maintenance.find_orphans,
    auth.issue_token,
    auth.authenticate,
    auth.list_tokens,
    auth.revoke_token,
    auth.open_session,
    auth.end_session,
    health.check_health,
    events.follow_events,
)


def bind_routed(ports: OpenPorts) -> dict[str, Callable[..., Any]]:
    return {use_case.__name__: ports.bind(use_case) for use_case in ROUTED}


def dependencies() -> dict[str, Provide]:
    """One Litestar dependency per use case, read from `app.state.use_cases` (filled in by the lifespan)."""

    def provider(name: str) -> Provide:
        def provide(state: State) -> Any:
            return state.use_cases[name]

        return Provide(provide, sync_to_thread=False)

    return {use_case.__name__: provider(use_case.__name__) for use_case in ROUTED}
