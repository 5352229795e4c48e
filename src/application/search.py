"""Find and compare runs and simulations: expressions parsed against the catalogs, searched in one store
transaction, compared side by side."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from application.ports import UnitOfWorkFactory
from application.runs import find_run
from application.simulations import find_simulation
from application.staleness import mark_stale
from domain.errors import InvalidInput
from domain.paging import PageRequest
from domain.runs import WalkforwardRun
from domain.search.compare import Comparison, compared_ids, side_by_side
from domain.search.fields import Catalog, FieldRef
from domain.search.ordering import parse_fields, parse_order_by
from domain.search.parser import parse_filter
from domain.search.query import Found, SearchQuery, decode_cursor
from domain.search.records import RunRecord, SimulationRecord
from domain.search.tree import And, Compare, Expr, Literal, LiteralType, Op
from domain.simulations import Simulation, TradeBucket


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """What a client sent, as text: `?filter=&order_by=&fields=` or the same in a JSON body."""

    filter: str | None = None
    order_by: str | None = None
    fields: str | None = None
    count: bool = False
    limit: int | None = None
    offset: int | None = None
    after: str | None = None
    # The old list filters (`?status=`...) as conditions ANDed with the expression.
    conditions: tuple[tuple[FieldRef, Any], ...] = field(default_factory=tuple)

    @property
    def asks_search(self) -> bool:
        return any(value is not None for value in (self.filter, self.order_by, self.fields))


def build_query(request: SearchRequest, catalog: Catalog) -> SearchQuery:
    expr = parse_filter(request.filter, catalog) if request.filter is not None else None
    parts: list[Expr] = [_equals(ref, value) for ref, value in request.conditions]
    if expr is not None:
        parts.append(expr)
    expr = None if not parts else parts[0] if len(parts) == 1 else And(tuple(parts))
    order = parse_order_by(request.order_by, catalog) if request.order_by else ()
    fields = parse_fields(request.fields, catalog) if request.fields else None
    page = PageRequest.of(request.limit, request.offset, None)
    # Without a filter the whole list is counted, as before; with one, only when asked (it costs a scan).
    count = request.count or request.filter is None
    query = SearchQuery(expr, order, fields, count, page.limit, page.offset)
    if request.after:
        if page.offset:
            raise InvalidInput("use either offset or after, not both", {"field": "after"})
        query = SearchQuery(expr, order, fields, count, page.limit, 0, decode_cursor(request.after, query))
    return query


def _equals(ref: FieldRef, value: Any) -> Expr:
    kind = LiteralType.ID if isinstance(value, UUID) else LiteralType.TEXT
    return Compare(ref, Op.EQ, Literal(kind, str(value)))


async def search_runs(query: SearchQuery, *, uow: UnitOfWorkFactory) -> Found[RunRecord]:
    async with uow.reading() as unit:
        found = await unit.run_search.search(query)
        await mark_stale(unit, [record.run for record in found.items])
        return found


async def search_simulations(query: SearchQuery, *, uow: UnitOfWorkFactory) -> Found[SimulationRecord]:
    async with uow.reading() as unit:
        found = await unit.simulation_search.search(query)
        await mark_stale(unit, [record.simulation for record in found.items])
        return found


async def compare_runs(ids: str | None, *, uow: UnitOfWorkFactory) -> Comparison[WalkforwardRun]:
    wanted = compared_ids(ids)
    async with uow() as unit:
        runs = [await find_run(unit, ref) for ref in wanted]
    numbers = sorted({fold.fold_number for run in runs for fold in run.folds})
    folds = {
        str(number): [next((f.metrics for f in run.folds if f.fold_number == number), {}) for run in runs]
        for number in numbers
    }
    return side_by_side(runs, [run.hyperparameters for run in runs], folds)


BUCKET_NAMES = ("all", "long", "short")


async def compare_simulations(ids: str | None, *, uow: UnitOfWorkFactory) -> Comparison[Simulation]:
    wanted = compared_ids(ids)
    async with uow() as unit:
        simulations = [await find_simulation(unit, ref) for ref in wanted]
    buckets = {
        name: [_bucket_numbers(next((b for b in sim.trade_buckets if b.bucket == name), None)) for sim in simulations]
        for name in BUCKET_NAMES
    }
    return side_by_side(simulations, [sim.config for sim in simulations], buckets)


def _bucket_numbers(bucket: TradeBucket | None) -> dict[str, Any]:
    if bucket is None:
        return {}
    return {name: getattr(bucket, name) for name in bucket.__dataclass_fields__ if name != "bucket"}
