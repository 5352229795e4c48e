"""`client.simulations`: log trade simulations of a run, read their trades and equity, search, compare."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from stage1_client import _records as rec
from stage1_client._core import Call, Namespace, Op, compact, decode, operation, page, ref
from stage1_client.frames import As, frame_from_stream
from stage1_client.models import Equity, Job, Page, Simulation, SimulationSaved

PATH = "/api/simulations"


def simulation_id(value: Any) -> str:
    return ref(value, "simulation_id")


class Simulations(Namespace):
    @operation
    def log(
        self,
        run: Any,
        *,
        trades: Any = None,
        config: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
        name: str | None = None,
        tags: dict[str, str] | None = None,
        notes: str | None = None,
        trade_buckets: Sequence[dict[str, Any]] | None = None,
        status: str | None = None,
        trades_measurement: str | None = None,
        background: bool = False,
    ) -> Op[SimulationSaved | Job]:
        """Save a simulation of `run` with its trades (a frame: bar_timestamp, entry_timestamp, exit_timestamp,
        side, entry_price, exit_price, quantity, pnl, return_pct, fees, fold_number) sent as an Arrow part.
        `config["initial_capital"]` is the equity curve's start."""
        record = compact(
            run_id=ref(run, "run_id"),
            config=config,
            summary_metrics=metrics,
            name=name,
            tags=tags,
            notes=notes,
            trade_buckets=None if trade_buckets is None else list(trade_buckets),
            status=status,
            trades_measurement=trades_measurement,
        )
        reply = yield rec.save_call(PATH, "simulation", "trades", record, trades, background)
        return decode(reply, Job) if background else decode(reply, SimulationSaved)

    @operation
    def get(self, simulation: Any) -> Op[Simulation]:
        return decode((yield Call("GET", f"{PATH}/{simulation_id(simulation)}")), Simulation)

    @operation
    def list(
        self,
        *,
        run: Any = None,
        dataset: Any = None,
        status: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        after: str | None = None,
    ) -> Op[Page[Simulation]]:
        params = compact(
            run_id=None if run is None else ref(run, "run_id"),
            dataset_id=None if dataset is None else ref(dataset, "dataset_id"),
            status=status,
            limit=limit,
            offset=offset,
            after=after,
        )
        return page((yield Call("GET", PATH, params=params)), "simulations", Simulation)

    @operation
    def equity(self, simulation: Any) -> Op[Equity]:
        """The equity curve: a start point and one point per closed trade; `.summary()` for the headline."""
        return decode((yield Call("GET", f"{PATH}/{simulation_id(simulation)}/equity")), Equity)

    @operation
    def trades(self, simulation: Any, *, limit: int | None = None, as_: As = "pandas") -> Op[Any]:
        params = compact(format="arrow", ts_unit="ms", limit=limit)
        reply = yield Call("GET", f"{PATH}/{simulation_id(simulation)}/trades", params=params, large=True)
        return frame_from_stream(reply.content, as_)

    @operation
    def update(
        self,
        simulation: Any,
        *,
        status: str | None = None,
        name: str | None = None,
        tags: dict[str, str | None] | None = None,
        notes: str | None = None,
        metrics: dict[str, Any] | None = None,
        started_at: Any = None,
        completed_at: Any = None,
    ) -> Op[Simulation]:
        body = rec.update_body(status, name, tags, notes, metrics, started_at, completed_at)
        return decode((yield Call("PATCH", f"{PATH}/{simulation_id(simulation)}", json=body)), Simulation)

    @operation
    def delete(
        self, simulation: Any, *, cascade: bool | None = None, dry_run: bool | None = None
    ) -> Op[dict[str, Any]]:
        reply = yield rec.delete_call(f"{PATH}/{simulation_id(simulation)}", cascade, dry_run)
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
        """Simulations matching `filter` (e.g. `"buckets.all.total_pnl > 0"`), flattened like runs.search."""
        return (yield from rec.search(PATH, "simulations", filter, order_by, fields, limit, offset, after, count, as_))

    @operation
    def compare(self, simulations: Sequence[Any]) -> Op[dict[str, Any]]:
        return dict((yield rec.compare_call(PATH, simulations, "simulation_id")).json() or {})
