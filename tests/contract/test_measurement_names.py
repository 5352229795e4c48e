"""Measurement-name reservations behave alike in memory, on SQLite and on Postgres: one holder per name,
a landing name is released by its owner only, a settled one is kept."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING
from uuid import UUID, uuid4

import pytest

from application.ports import NameState

if TYPE_CHECKING:
    from tests.contract.conftest import Store

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


async def reserve(store: Store, name: str, owner: UUID, kind: str = "run") -> bool:
    async with store() as uow:
        taken = await uow.measurement_names.reserve(name, kind, owner, NOW)
        await uow.commit()
    return taken


async def holder_state(store: Store, name: str) -> tuple[UUID, NameState] | None:
    async with store() as uow:
        held = await uow.measurement_names.holder(name)
    return None if held is None else (held.owner_id, held.state)


async def test_a_name_has_one_holder_and_a_second_reservation_even_by_the_same_owner_fails(
    uow_factory: Store,
) -> None:
    first, second = uuid4(), uuid4()
    assert await reserve(uow_factory, "btc_wf_1", first)
    assert not await reserve(uow_factory, "btc_wf_1", second)
    assert not await reserve(uow_factory, "btc_wf_1", first)
    assert await holder_state(uow_factory, "btc_wf_1") == (first, NameState.LANDING)


async def test_a_reservation_rolled_back_leaves_the_name_free(uow_factory: Store) -> None:
    async with uow_factory() as uow:
        assert await uow.measurement_names.reserve("btc_wf_2", "run", uuid4(), NOW)
    assert await holder_state(uow_factory, "btc_wf_2") is None


async def test_a_failed_save_releases_its_name_and_nobody_else_can(uow_factory: Store) -> None:
    owner = uuid4()
    assert await reserve(uow_factory, "btc_wf_3", owner)
    async with uow_factory() as uow:
        await uow.measurement_names.release("btc_wf_3", uuid4())
        await uow.commit()
    assert await holder_state(uow_factory, "btc_wf_3") == (owner, NameState.LANDING)
    async with uow_factory() as uow:
        await uow.measurement_names.release("btc_wf_3", owner)
        await uow.commit()
    assert await reserve(uow_factory, "btc_wf_3", uuid4())


async def test_a_settled_name_stays_reserved_through_a_release(uow_factory: Store) -> None:
    owner = uuid4()
    assert await reserve(uow_factory, "btc_wf_4", owner)
    async with uow_factory() as uow:
        assert await uow.measurement_names.settle("btc_wf_4", "run", owner, NOW)
        await uow.commit()
    async with uow_factory() as uow:
        await uow.measurement_names.release("btc_wf_4", owner)
        await uow.commit()
    assert await holder_state(uow_factory, "btc_wf_4") == (owner, NameState.OWNED)
    assert not await reserve(uow_factory, "btc_wf_4", uuid4())


async def test_settling_takes_a_free_name_but_never_another_owners(uow_factory: Store) -> None:
    owner, other = uuid4(), uuid4()
    async with uow_factory() as uow:
        assert await uow.measurement_names.settle("btc_ohlcv", "dataset", owner, NOW)
        assert not await uow.measurement_names.settle("btc_ohlcv", "dataset", other, NOW)
        await uow.commit()
    assert await holder_state(uow_factory, "btc_ohlcv") == (owner, NameState.OWNED)


async def at(store: Store, moment: datetime, action: str, name: str, owner: UUID) -> bool:
    async with store() as uow:
        names = uow.measurement_names
        done = await (names.reserve(name, "run", owner, moment) if action == "reserve" else names.renew(name, owner, moment))
        await uow.commit()
    return done


async def test_a_lapsed_landing_reservation_is_taken_over_but_a_renewed_one_never_is(uow_factory: Store) -> None:
    dead, live, late = uuid4(), uuid4(), uuid4()
    async with uow_factory() as uow:
        lease = uow.measurement_names.lease
    assert await at(uow_factory, NOW, "reserve", "btc_wf_dead", dead)
    assert await at(uow_factory, NOW, "reserve", "btc_wf_live", live)
    halfway, past = NOW + lease / 2, NOW + lease * 1.2
    assert await at(uow_factory, halfway, "renew", "btc_wf_live", live)  # the live save renews; the dead cannot
    assert not await at(uow_factory, halfway, "reserve", "btc_wf_dead", late)  # not yet lapsed
    assert await at(uow_factory, past, "reserve", "btc_wf_dead", late)
    assert not await at(uow_factory, past, "reserve", "btc_wf_live", late)
    assert await holder_state(uow_factory, "btc_wf_dead") == (late, NameState.LANDING)
    assert not await at(uow_factory, past, "renew", "btc_wf_dead", dead)  # the one taken over lost it for good


async def test_the_sweep_releases_lapsed_reservations_only(uow_factory: Store) -> None:
    dead, live, settled = uuid4(), uuid4(), uuid4()
    async with uow_factory() as uow:
        lease = uow.measurement_names.lease
    for name, owner in (("eth_wf_dead", dead), ("eth_wf_live", live), ("eth_wf_settled", settled)):
        assert await at(uow_factory, NOW, "reserve", name, owner)
    async with uow_factory() as uow:
        assert await uow.measurement_names.settle("eth_wf_settled", "run", settled, NOW)
        assert await uow.measurement_names.renew("eth_wf_live", live, NOW + lease)
        released = await uow.measurement_names.release_stale(NOW + lease * 1.5)
        await uow.commit()
    assert released == ["eth_wf_dead"]
    assert await holder_state(uow_factory, "eth_wf_dead") is None
    assert await holder_state(uow_factory, "eth_wf_live") == (live, NameState.LANDING)
    assert await holder_state(uow_factory, "eth_wf_settled") == (settled, NameState.OWNED)
