"""Deletes behave alike in memory, on SQLite and on Postgres: children go with their records, a record with
dependants refuses, a second delete is not found, the legacy mirror follows, jobs go with their events, and
a DROPPING name is held until forgotten."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING
from uuid import uuid4

import pytest
from sqlalchemy import func, select, text
from tests.contract.test_metadata_repositories import (
    T0,
    add_dataset,
    add_run,
    add_simulation,
    at,
    make_dataset,
    make_run,
    make_simulation,
    make_trades,
)

from adapters.sql import tables
from application.ports import NameState
from domain.errors import Conflict, NotFound
from domain.jobs import Job, JobStatus

if TYPE_CHECKING:
    from tests.contract.conftest import Store

pytestmark = pytest.mark.anyio


async def test_a_dataset_goes_after_its_simulations_and_runs_and_a_second_delete_is_not_found(
    uow_factory: Store,
) -> None:
    dataset = await add_dataset(uow_factory, make_dataset())
    run = await add_run(uow_factory, make_run(dataset))
    simulation = await add_simulation(uow_factory, make_simulation(run), make_trades(5))
    with pytest.raises(Conflict):
        async with uow_factory() as uow:
            await uow.datasets.delete(dataset.dataset_id)
            await uow.commit()
    async with uow_factory() as uow:
        await uow.simulations.delete(simulation.simulation_id)
        await uow.runs.delete(run.run_id)
        await uow.datasets.delete(dataset.dataset_id)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.datasets.get(dataset.dataset_id) is None
        assert await uow.runs.get(run.run_id) is None
        assert await uow.simulations.get(simulation.simulation_id) is None
        assert await uow.simulations.all_trades(simulation.simulation_id) == []
        assert not await uow.runs.measurement_taken(str(run.prediction_measurement))
        with pytest.raises(NotFound):
            await uow.datasets.delete(dataset.dataset_id)


async def test_the_legacy_mirror_and_the_postgres_views_forget_a_deleted_dataset(sql_uow_factory: Store) -> None:
    assert sql_uow_factory.engine is not None
    dataset = await add_dataset(sql_uow_factory, make_dataset())
    kept = await add_dataset(sql_uow_factory, make_dataset("eth_1h"))
    async with sql_uow_factory() as uow:
        await uow.datasets.delete(dataset.dataset_id)
        await uow.commit()
    async with sql_uow_factory.engine.connect() as connection:
        legacy = (await connection.execute(select(tables.legacy_datasets.c.dataset_id))).scalars().all()
        assert legacy == [kept.dataset_id]
        if connection.dialect.name == "postgresql":
            views = await connection.execute(text("SELECT dataset_slug FROM dataset_catalog"))
            assert views.scalars().all() == ["eth_1h"]
            listed = await connection.execute(text("SELECT count(*) FROM fn_list_datasets()"))
            assert listed.scalar_one() == 1


async def test_a_finished_job_is_deleted_with_its_events_and_old_ones_are_found_for_pruning(
    uow_factory: Store,
) -> None:
    done = Job.submit(uuid4(), "noop", {}, T0)
    done.status, done.completed_at = JobStatus.COMPLETED, at(10)
    later = Job.submit(uuid4(), "noop", {}, T0)
    later.status, later.completed_at = JobStatus.FAILED, at(100)
    pending = Job.submit(uuid4(), "noop", {}, T0)
    async with uow_factory() as uow:
        for job in (done, later, pending):
            await uow.jobs.add(job)
        await uow.commit()
    async with uow_factory() as uow:
        old = await uow.jobs.finished_before(at(50), 10)
        assert [job.job_id for job in old] == [done.job_id]
        assert [j.job_id for j in await uow.jobs.finished_before(at(500), 1)] == [done.job_id]
        await uow.jobs.delete(done.job_id)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.jobs.get(done.job_id) is None
        assert await uow.jobs.get(later.job_id) is not None
        assert await uow.jobs.finished_before(at(50) + timedelta(days=1), 10) != []


async def test_a_deleted_jobs_events_go_with_it(sql_uow_factory: Store) -> None:
    assert sql_uow_factory.engine is not None
    job = Job.submit(uuid4(), "noop", {}, T0)
    job.status, job.completed_at = JobStatus.COMPLETED, at(1)
    events = tables.events
    async with sql_uow_factory() as uow:
        await uow.jobs.add(job)
        await uow.commit()
    async with sql_uow_factory.engine.begin() as connection:
        for owner in (job.job_id, uuid4()):
            await connection.execute(
                events.insert().values(type="job.updated", data={"job_id": str(owner)}, created_at=T0)
            )
    async with sql_uow_factory() as uow:
        await uow.jobs.delete(job.job_id)
        await uow.commit()
    async with sql_uow_factory.engine.connect() as connection:
        left = (await connection.execute(select(func.count()).select_from(events))).scalar_one()
    assert left == 1


async def test_a_doomed_name_is_held_until_forgotten_and_never_another_owners(uow_factory: Store) -> None:
    owner, other = uuid4(), uuid4()
    async with uow_factory() as uow:
        assert await uow.measurement_names.settle("m_one", "run", owner, T0)
        assert await uow.measurement_names.settle("m_two", "run", other, T0)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.measurement_names.doom("m_one", "run", owner, T0)
        assert not await uow.measurement_names.doom("m_two", "run", owner, T0)
        assert await uow.measurement_names.doom("m_free", "measurement", owner, T0)
        await uow.commit()
    async with uow_factory() as uow:
        held = await uow.measurement_names.holder("m_one")
        assert held is not None and held.state is NameState.DROPPING
        assert not await uow.measurement_names.reserve("m_one", "dataset", uuid4(), T0)
        assert not await uow.measurement_names.forget("m_two")
        assert await uow.measurement_names.forget("m_one")
        await uow.commit()
    async with uow_factory() as uow:
        names = [(r.name, r.state) for r in await uow.measurement_names.every()]
    assert names == [("m_free", NameState.DROPPING), ("m_two", NameState.OWNED)]
