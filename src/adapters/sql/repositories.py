"""The metadata ports over SQLAlchemy Core: one class per port, rows translated to entities by hand."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Executable,
    Row,
    Table,
    and_,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql import tables as t
from adapters.sql.errors import translated
from adapters.trade_paging import trade_cursor, trade_position
from application.ports import (
    ApiToken,
    DatasetFilter,
    DatasetListing,
    JobFilter,
    RunFilter,
    SimulationFilter,
    StoredResponse,
)
from domain.datasets import Dataset
from domain.errors import InvalidInput, NotFound
from domain.jobs import Job, JobStatus
from domain.paging import Cursor, Page, PageRequest
from domain.runs import Fold, RunStatus, WalkforwardRun
from domain.simulations import Side, Simulation, SimulationStatus, Trade, TradeBucket
from domain.values import MeasurementName, Slug

T = TypeVar("T")
# Spelled once here: inside a repository class `list` names the method, not the builtin.
TradeList = list[Trade]

# Rows per INSERT batch: large enough to be fast, small enough to bound the parameter lists in memory.
BULK_CHUNK = 5_000


class Link(Protocol):
    """What a repository needs from its unit of work: the open connection."""

    @property
    def connection(self) -> AsyncConnection: ...


class _Repository:
    def __init__(self, link: Link) -> None:
        self._link = link

    @property
    def _dialect(self) -> str:
        return self._link.connection.dialect.name

    async def _execute(self, statement: Executable, rows: Sequence[dict[str, Any]] | None = None) -> Any:
        async with translated():
            if rows is None:
                return await self._link.connection.execute(statement)
            return await self._link.connection.execute(statement, list(rows))

    async def _bulk_insert(self, table: Table, rows: Iterable[dict[str, Any]]) -> None:
        chunk: list[dict[str, Any]] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= BULK_CHUNK:
                await self._execute(insert(table), chunk)
                chunk = []
        if chunk:
            await self._execute(insert(table), chunk)

    async def _rows(self, statement: Executable) -> Sequence[Row[Any]]:
        result = await self._execute(statement)
        rows: Sequence[Row[Any]] = result.all()
        return rows

    async def _scalar(self, statement: Executable) -> Any:
        result = await self._execute(statement)
        return result.scalar_one()

    async def _newest_first(
        self,
        table: Table,
        key: str,
        conditions: Sequence[ColumnElement[bool]],
        page: PageRequest,
        to_item: Callable[[Row[Any]], T],
        columns: Sequence[Any] = (),
    ) -> Page[T]:
        """A page of `table` ordered by (created_at DESC, key DESC), by offset or after a cursor."""
        created, ident = table.c.created_at, table.c[key]
        total = int(await self._scalar(select(func.count()).select_from(table).where(*conditions)))
        statement = select(table, *columns).where(*conditions)
        if page.after is not None:
            after_id = _cursor_uuid(page.after)
            statement = statement.where(
                or_(created < page.after.created_at, and_(created == page.after.created_at, ident < after_id))
            )
        statement = statement.order_by(created.desc(), ident.desc()).limit(page.limit + 1)
        if page.offset:
            statement = statement.offset(page.offset)
        rows = await self._rows(statement)
        more = len(rows) > page.limit
        kept = rows[: page.limit]
        next_cursor = None
        if more and kept:
            last = kept[-1]._mapping
            next_cursor = Cursor(last["created_at"], str(last[key])).encode()
        return Page([to_item(row) for row in kept], total, page.limit, page.offset, next_cursor)

    async def _measurement_taken(self, measurement: str) -> bool:
        statement = select(
            or_(
                exists().where(t.runs.c.prediction_measurement == measurement),
                exists().where(t.simulations.c.trades_measurement == measurement),
                exists().where(
                    or_(
                        t.datasets.c.ohlcv_measurement == measurement,
                        t.datasets.c.indicator_measurement == measurement,
                    )
                ),
            )
        )
        return bool(await self._scalar(statement))


def _cursor_uuid(cursor: Cursor) -> UUID:
    try:
        return UUID(cursor.key)
    except ValueError as exc:
        raise InvalidInput("after is not a cursor for this list", {"field": "after"}) from exc


def _contains(column: Any, needle: str) -> ColumnElement[bool]:
    """Case-insensitive substring match; `%` and `_` in the needle are literal."""
    condition: ColumnElement[bool] = func.lower(column).contains(needle.lower(), autoescape=True)
    return condition


def _trusted_slug(value: str) -> Slug:
    # Stored names were validated on the way in (or written by a desktop); a read must not reject them.
    return str.__new__(Slug, value)


def _trusted_measurement(value: str) -> MeasurementName:
    return str.__new__(MeasurementName, value)


# ---------------------------------------------------------------- datasets


def _dataset_values(dataset: Dataset) -> dict[str, Any]:
    return {
        "dataset_id": dataset.dataset_id,
        "dataset_slug": str(dataset.dataset_slug),
        "symbol": dataset.symbol,
        "granularity": dataset.granularity,
        "source": dataset.source,
        "ohlcv_measurement": str(dataset.ohlcv_measurement),
        "indicator_measurement": str(dataset.indicator_measurement),
        "ohlcv_rows": dataset.ohlcv_rows,
        "indicator_rows": dataset.indicator_rows,
        "ohlcv_first_ts": dataset.ohlcv_first_ts,
        "ohlcv_last_ts": dataset.ohlcv_last_ts,
        "indicator_first_ts": dataset.indicator_first_ts,
        "indicator_last_ts": dataset.indicator_last_ts,
        "metadata": dict(dataset.metadata),
        "created_at": dataset.created_at,
        "updated_at": dataset.updated_at,
    }


def _legacy_values(dataset: Dataset) -> dict[str, Any]:
    return {
        "dataset_id": dataset.dataset_id,
        "dataset_slug": str(dataset.dataset_slug),
        "symbol": dataset.symbol,
        "granularity": dataset.granularity,
        "measurement": str(dataset.indicator_measurement),
        "ohlcv_measurement": str(dataset.ohlcv_measurement),
        "row_count": dataset.indicator_rows,
        "first_ts": dataset.indicator_first_ts,
        "last_ts": dataset.indicator_last_ts,
        "created_at": dataset.created_at,
        "updated_at": dataset.updated_at,
    }


def _dataset(row: Row[Any]) -> Dataset:
    return Dataset(
        dataset_id=row.dataset_id,
        dataset_slug=_trusted_slug(row.dataset_slug),
        ohlcv_measurement=_trusted_measurement(row.ohlcv_measurement),
        indicator_measurement=_trusted_measurement(row.indicator_measurement),
        created_at=row.created_at,
        updated_at=row.updated_at,
        symbol=row.symbol,
        granularity=row.granularity,
        source=row.source,
        ohlcv_rows=row.ohlcv_rows,
        indicator_rows=row.indicator_rows,
        ohlcv_first_ts=row.ohlcv_first_ts,
        ohlcv_last_ts=row.ohlcv_last_ts,
        indicator_first_ts=row.indicator_first_ts,
        indicator_last_ts=row.indicator_last_ts,
        metadata=dict(row.metadata or {}),
    )


def _related_runs() -> Any:
    return (
        select(func.count())
        .select_from(t.runs)
        .where(t.runs.c.dataset_id == t.datasets.c.dataset_id)
        .scalar_subquery()
        .label("related_runs")
    )


def _related_simulations() -> Any:
    return (
        select(func.count())
        .select_from(t.simulations)
        .where(t.simulations.c.dataset_id == t.datasets.c.dataset_id)
        .scalar_subquery()
        .label("related_simulations")
    )


class SqlDatasetRepository(_Repository):
    """`stage1_datasets`, with every write mirrored into the legacy `indicator_datasets`."""

    async def add(self, dataset: Dataset) -> None:
        await self._execute(insert(t.datasets).values(_dataset_values(dataset)))
        await self._mirror(dataset)

    async def save(self, dataset: Dataset) -> None:
        values = _dataset_values(dataset)
        del values["dataset_id"], values["created_at"]
        result = await self._execute(
            update(t.datasets).where(t.datasets.c.dataset_id == dataset.dataset_id).values(values)
        )
        if result.rowcount == 0:
            raise NotFound(f"dataset {dataset.dataset_id} does not exist")
        await self._mirror(dataset)

    async def _mirror(self, dataset: Dataset) -> None:
        legacy = t.legacy_datasets
        # A desktop may have registered the slug in the legacy table under another id; the canonical wins.
        await self._execute(
            delete(legacy).where(
                legacy.c.dataset_slug == str(dataset.dataset_slug), legacy.c.dataset_id != dataset.dataset_id
            )
        )
        values = _legacy_values(dataset)
        changes = {name: value for name, value in values.items() if name not in ("dataset_id", "created_at")}
        dialect = postgresql if self._dialect == "postgresql" else sqlite
        statement = dialect.insert(legacy).values(values)
        await self._execute(statement.on_conflict_do_update(index_elements=[legacy.c.dataset_id], set_=changes))

    async def get(self, dataset_id: UUID) -> Dataset | None:
        rows = await self._rows(select(t.datasets).where(t.datasets.c.dataset_id == dataset_id))
        return _dataset(rows[0]) if rows else None

    async def get_by_slug(self, slug: str) -> Dataset | None:
        rows = await self._rows(select(t.datasets).where(t.datasets.c.dataset_slug == slug))
        return _dataset(rows[0]) if rows else None

    async def list(self, filters: DatasetFilter, page: PageRequest) -> Page[DatasetListing]:
        c = t.datasets.c
        conditions: list[ColumnElement[bool]] = []
        if filters.symbol is not None:
            conditions.append(c.symbol == filters.symbol)
        if filters.granularity is not None:
            conditions.append(c.granularity == filters.granularity)
        if filters.search:
            conditions.append(or_(_contains(c.dataset_slug, filters.search), _contains(c.symbol, filters.search)))
        return await self._newest_first(
            t.datasets,
            "dataset_id",
            conditions,
            page,
            lambda row: DatasetListing(_dataset(row), row.related_runs, row.related_simulations),
            columns=(_related_runs(), _related_simulations()),
        )

    async def related_counts(self, dataset_id: UUID) -> tuple[int, int]:
        runs = await self._scalar(select(func.count()).where(t.runs.c.dataset_id == dataset_id))
        sims = await self._scalar(select(func.count()).where(t.simulations.c.dataset_id == dataset_id))
        return int(runs), int(sims)


# ---------------------------------------------------------------- runs


def _run_values(run: WalkforwardRun) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "dataset_id": run.dataset_id,
        "dataset_slug": str(run.dataset_slug),
        "prediction_measurement": str(run.prediction_measurement),
        "status": run.status.value,
        "target_column": run.target_column,
        "feature_columns": list(run.feature_columns),
        "walk_config": dict(run.walk_config),
        "hyperparameters": dict(run.hyperparameters),
        "summary_metrics": dict(run.summary_metrics),
        "fold_count": run.fold_count,
        "clipboard_text": run.clipboard_text,
        "started_at": run.started_at,
        "completed_at": run.completed_at,
        "created_at": run.created_at,
    }


def _fold_values(run_id: UUID, fold: Fold) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "fold_number": fold.fold_number,
        "train_start": fold.train_start,
        "train_end": fold.train_end,
        "test_start": fold.test_start,
        "test_end": fold.test_end,
        "train_start_ts": fold.train_start_ts,
        "train_end_ts": fold.train_end_ts,
        "test_start_ts": fold.test_start_ts,
        "test_end_ts": fold.test_end_ts,
        "thresholds": dict(fold.thresholds),
        "metrics": dict(fold.metrics),
    }


def _fold(row: Row[Any]) -> Fold:
    return Fold(
        fold_number=row.fold_number,
        train_start=row.train_start,
        train_end=row.train_end,
        test_start=row.test_start,
        test_end=row.test_end,
        train_start_ts=row.train_start_ts,
        train_end_ts=row.train_end_ts,
        test_start_ts=row.test_start_ts,
        test_end_ts=row.test_end_ts,
        thresholds=dict(row.thresholds or {}),
        metrics=dict(row.metrics or {}),
    )


def _run(row: Row[Any], folds: list[Fold]) -> WalkforwardRun:
    return WalkforwardRun(
        run_id=row.run_id,
        dataset_id=row.dataset_id,
        dataset_slug=_trusted_slug(row.dataset_slug),
        prediction_measurement=_trusted_measurement(row.prediction_measurement),
        status=RunStatus(row.status),
        created_at=row.created_at,
        target_column=row.target_column,
        feature_columns=list(row.feature_columns or []),
        walk_config=dict(row.walk_config or {}),
        hyperparameters=dict(row.hyperparameters or {}),
        summary_metrics=dict(row.summary_metrics or {}),
        folds=folds,
        clipboard_text=row.clipboard_text,
        started_at=row.started_at,
        completed_at=row.completed_at,
        # Without its folds at hand (a list, or a run sent without fold detail) the stored count speaks.
        declared_fold_count=None if folds else (row.fold_count or None),
    )


class SqlRunRepository(_Repository):
    """`walkforward_runs` with their `walkforward_folds`; lists carry no folds, only `fold_count`."""

    async def add(self, run: WalkforwardRun) -> None:
        await self._execute(insert(t.runs).values(_run_values(run)))
        if run.folds:
            await self._bulk_insert(t.folds, (_fold_values(run.run_id, fold) for fold in run.folds))

    async def get(self, run_id: UUID) -> WalkforwardRun | None:
        rows = await self._rows(select(t.runs).where(t.runs.c.run_id == run_id))
        if not rows:
            return None
        fold_rows = await self._rows(select(t.folds).where(t.folds.c.run_id == run_id).order_by(t.folds.c.fold_number))
        return _run(rows[0], [_fold(row) for row in fold_rows])

    async def list(self, filters: RunFilter, page: PageRequest) -> Page[WalkforwardRun]:
        c = t.runs.c
        conditions: list[ColumnElement[bool]] = []
        if filters.dataset_id is not None:
            conditions.append(c.dataset_id == filters.dataset_id)
        if filters.dataset_slug is not None:
            conditions.append(c.dataset_slug == filters.dataset_slug)
        if filters.status is not None:
            conditions.append(c.status == filters.status)
        if filters.measurement is not None:
            conditions.append(c.prediction_measurement == filters.measurement)
        if filters.search:
            conditions.append(
                or_(
                    _contains(c.dataset_slug, filters.search),
                    _contains(c.prediction_measurement, filters.search),
                    _contains(c.target_column, filters.search),
                )
            )
        return await self._newest_first(t.runs, "run_id", conditions, page, lambda row: _run(row, []))

    async def measurement_taken(self, measurement: str) -> bool:
        return await self._measurement_taken(measurement)


# ---------------------------------------------------------------- simulations


def _simulation_values(simulation: Simulation) -> dict[str, Any]:
    return {
        "simulation_id": simulation.simulation_id,
        "run_id": simulation.run_id,
        "dataset_id": simulation.dataset_id,
        "trades_measurement": str(simulation.trades_measurement),
        "status": simulation.status.value,
        "config": dict(simulation.config),
        "summary_metrics": dict(simulation.summary_metrics),
        "trade_count": simulation.trade_count,
        "started_at": simulation.started_at,
        "completed_at": simulation.completed_at,
        "created_at": simulation.created_at,
    }


def _bucket_values(simulation_id: UUID, bucket: TradeBucket) -> dict[str, Any]:
    return {
        "simulation_id": simulation_id,
        "bucket": bucket.bucket,
        "trade_count": bucket.trade_count,
        "win_count": bucket.win_count,
        "loss_count": bucket.loss_count,
        "total_pnl": bucket.total_pnl,
        "avg_pnl": bucket.avg_pnl,
        "avg_return_pct": bucket.avg_return_pct,
        "max_win": bucket.max_win,
        "max_loss": bucket.max_loss,
    }


def _trade_values(simulation_id: UUID, trade: Trade) -> dict[str, Any]:
    return {
        "simulation_id": simulation_id,
        "trade_id": trade.trade_id,
        "bar_timestamp": trade.bar_timestamp,
        "entry_timestamp": trade.entry_timestamp,
        "exit_timestamp": trade.exit_timestamp,
        "side": trade.side.value,
        "entry_price": trade.entry_price,
        "exit_price": trade.exit_price,
        "quantity": trade.quantity,
        "pnl": trade.pnl,
        "return_pct": trade.return_pct,
        "fees": trade.fees,
        "fold_number": trade.fold_number,
    }


def _bucket(row: Row[Any]) -> TradeBucket:
    return TradeBucket(
        bucket=row.bucket,
        trade_count=row.trade_count,
        win_count=row.win_count,
        loss_count=row.loss_count,
        total_pnl=row.total_pnl,
        avg_pnl=row.avg_pnl,
        avg_return_pct=row.avg_return_pct,
        max_win=row.max_win,
        max_loss=row.max_loss,
    )


def _trade(row: Row[Any]) -> Trade:
    return Trade(
        trade_id=row.trade_id,
        bar_timestamp=row.bar_timestamp,
        side=Side(row.side),
        entry_price=row.entry_price,
        exit_price=row.exit_price,
        quantity=row.quantity,
        pnl=row.pnl,
        return_pct=row.return_pct,
        fees=row.fees,
        fold_number=row.fold_number,
        entry_timestamp=row.entry_timestamp,
        exit_timestamp=row.exit_timestamp,
    )


def _simulation(row: Row[Any], buckets: list[TradeBucket]) -> Simulation:
    return Simulation(
        simulation_id=row.simulation_id,
        run_id=row.run_id,
        dataset_id=row.dataset_id,
        trades_measurement=_trusted_measurement(row.trades_measurement),
        status=SimulationStatus(row.status),
        created_at=row.created_at,
        config=dict(row.config or {}),
        summary_metrics=dict(row.summary_metrics or {}),
        trade_count=row.trade_count,
        trade_buckets=buckets,
        started_at=row.started_at,
        completed_at=row.completed_at,
    )


_TRADE_COLUMNS = [column for column in t.trades.c if column.name != "simulation_id"]


class SqlSimulationRepository(_Repository):
    """`simulation_runs` with buckets and trades; lists carry no buckets."""

    async def add(self, simulation: Simulation, trades: Sequence[Trade]) -> None:
        await self._execute(insert(t.simulations).values(_simulation_values(simulation)))
        sim_id = simulation.simulation_id
        if simulation.trade_buckets:
            await self._bulk_insert(t.trade_buckets, (_bucket_values(sim_id, b) for b in simulation.trade_buckets))
        await self._bulk_insert(t.trades, (_trade_values(sim_id, trade) for trade in trades))

    async def get(self, simulation_id: UUID) -> Simulation | None:
        rows = await self._rows(select(t.simulations).where(t.simulations.c.simulation_id == simulation_id))
        if not rows:
            return None
        bucket_rows = await self._rows(
            select(t.trade_buckets)
            .where(t.trade_buckets.c.simulation_id == simulation_id)
            .order_by(t.trade_buckets.c.bucket)
        )
        return _simulation(rows[0], [_bucket(row) for row in bucket_rows])

    async def list(self, filters: SimulationFilter, page: PageRequest) -> Page[Simulation]:
        c = t.simulations.c
        conditions: list[ColumnElement[bool]] = []
        if filters.run_id is not None:
            conditions.append(c.run_id == filters.run_id)
        if filters.dataset_id is not None:
            conditions.append(c.dataset_id == filters.dataset_id)
        if filters.status is not None:
            conditions.append(c.status == filters.status)
        return await self._newest_first(
            t.simulations, "simulation_id", conditions, page, lambda row: _simulation(row, [])
        )

    async def trades(self, simulation_id: UUID, page: PageRequest) -> Page[Trade]:
        c = t.trades.c
        mine = c.simulation_id == simulation_id
        total = int(await self._scalar(select(func.count()).select_from(t.trades).where(mine)))
        statement = select(*_TRADE_COLUMNS).where(mine)
        if page.after is not None:
            bar, trade_id = trade_position(page.after)
            statement = statement.where(or_(c.bar_timestamp > bar, and_(c.bar_timestamp == bar, c.trade_id > trade_id)))
        statement = statement.order_by(c.bar_timestamp, c.trade_id).limit(page.limit + 1)
        if page.offset:
            statement = statement.offset(page.offset)
        rows = await self._rows(statement)
        items = [_trade(row) for row in rows[: page.limit]]
        more = len(rows) > page.limit
        next_cursor = trade_cursor(items[-1]).encode() if more and items else None
        return Page(items, total, page.limit, page.offset, next_cursor)

    async def all_trades(self, simulation_id: UUID) -> TradeList:
        c = t.trades.c
        rows = await self._rows(
            select(*_TRADE_COLUMNS).where(c.simulation_id == simulation_id).order_by(c.bar_timestamp, c.trade_id)
        )
        return [_trade(row) for row in rows]

    async def measurement_taken(self, measurement: str) -> bool:
        return await self._measurement_taken(measurement)


# ---------------------------------------------------------------- jobs


def job_values(job: Job) -> dict[str, Any]:
    """A Job as `stage1_jobs` column values (all but `idempotency_key`, which only the queue sets)."""
    return {
        "job_id": job.job_id,
        "type": job.type,
        "status": job.status.value,
        "payload": dict(job.payload),
        "progress": job.progress,
        "total": job.total,
        "message": job.message,
        "result": None if job.result is None else dict(job.result),
        "error": job.error,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "priority": job.priority,
        "worker_id": job.worker_id,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "started_at": job.started_at,
        "completed_at": job.completed_at,
        "run_after": job.run_after,
        "lease_expires_at": job.lease_expires_at,
        "cancel_requested": job.cancel_requested,
    }


def job_from_row(row: Row[Any]) -> Job:
    """A `stage1_jobs` row as a Job (the queue adapter reads the same rows)."""
    return Job(
        job_id=row.job_id,
        type=row.type,
        status=JobStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        payload=dict(row.payload or {}),
        progress=row.progress,
        total=row.total,
        message=row.message,
        result=None if row.result is None else dict(row.result),
        error=row.error,
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        priority=row.priority,
        worker_id=row.worker_id,
        started_at=row.started_at,
        completed_at=row.completed_at,
        run_after=row.run_after,
        lease_expires_at=row.lease_expires_at,
        cancel_requested=bool(row.cancel_requested),
    )


class SqlJobRepository(_Repository):
    """Plain reads and writes of `stage1_jobs`; claiming is the queue adapter's business."""

    async def add(self, job: Job) -> None:
        await self._execute(insert(t.jobs).values(job_values(job)))

    async def save(self, job: Job) -> None:
        values = job_values(job)
        del values["job_id"], values["created_at"]
        result = await self._execute(update(t.jobs).where(t.jobs.c.job_id == job.job_id).values(values))
        if result.rowcount == 0:
            raise NotFound(f"job {job.job_id} does not exist")

    async def get(self, job_id: UUID) -> Job | None:
        rows = await self._rows(select(t.jobs).where(t.jobs.c.job_id == job_id))
        return job_from_row(rows[0]) if rows else None

    async def list(self, filters: JobFilter, page: PageRequest) -> Page[Job]:
        conditions: list[ColumnElement[bool]] = []
        if filters.status is not None:
            conditions.append(t.jobs.c.status == filters.status)
        if filters.type is not None:
            conditions.append(t.jobs.c.type == filters.type)
        return await self._newest_first(t.jobs, "job_id", conditions, page, job_from_row)

    async def count_by_status(self) -> dict[JobStatus, int]:
        counts = dict.fromkeys(JobStatus, 0)
        result = await self._execute(select(t.jobs.c.status, func.count()).group_by(t.jobs.c.status))
        known = {status.value: status for status in JobStatus}
        for status, count in result.all():
            if status in known:
                counts[known[status]] = int(count)
        return counts


# ---------------------------------------------------------------- idempotency and tokens


class SqlIdempotencyRecords(_Repository):
    async def get(self, key: str, scope: str) -> StoredResponse | None:
        c = t.idempotency.c
        rows = await self._rows(select(t.idempotency).where(c.key == key, c.scope == scope))
        if not rows:
            return None
        row = rows[0]
        return StoredResponse(
            key=row.key,
            scope=row.scope,
            request_hash=row.request_hash,
            status_code=row.status_code,
            body=dict(row.body or {}),
            created_at=row.created_at,
        )

    async def add(self, record: StoredResponse) -> None:
        await self._execute(
            insert(t.idempotency).values(
                key=record.key,
                scope=record.scope,
                request_hash=record.request_hash,
                status_code=record.status_code,
                body=dict(record.body),
                created_at=record.created_at,
            )
        )


def _token_values(token: ApiToken) -> dict[str, Any]:
    return {
        "token_id": token.token_id,
        "name": token.name,
        "token_hash": token.token_hash,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
    }


def _token(row: Row[Any]) -> ApiToken:
    return ApiToken(
        token_id=row.token_id,
        name=row.name,
        token_hash=row.token_hash,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


class SqlTokenRepository(_Repository):
    async def add(self, token: ApiToken) -> None:
        await self._execute(insert(t.api_tokens).values(_token_values(token)))

    async def save(self, token: ApiToken) -> None:
        values = _token_values(token)
        del values["token_id"]
        result = await self._execute(
            update(t.api_tokens).where(t.api_tokens.c.token_id == token.token_id).values(values)
        )
        if result.rowcount == 0:
            raise NotFound(f"token {token.token_id} does not exist")

    async def get(self, token_id: UUID) -> ApiToken | None:
        rows = await self._rows(select(t.api_tokens).where(t.api_tokens.c.token_id == token_id))
        return _token(rows[0]) if rows else None

    async def get_by_hash(self, token_hash: str) -> ApiToken | None:
        rows = await self._rows(select(t.api_tokens).where(t.api_tokens.c.token_hash == token_hash))
        return _token(rows[0]) if rows else None

    async def list(self, page: PageRequest) -> Page[ApiToken]:
        return await self._newest_first(t.api_tokens, "token_id", [], page, _token)
