"""Domain objects and wire structs are mapped by field name: every field must land under its own name.

Each generated object has a distinct random value per field, so a copy that swapped two fields (or
dropped one) fails here instead of reaching a client.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from application.job_events import SERVER_SIDE_KEYS
from domain.datasets import Dataset
from domain.jobs import Job, JobStatus
from domain.lifecycle import RecordStatus
from domain.runs import Fold, WalkforwardRun
from domain.simulations import Side, Simulation, Trade, TradeBucket
from domain.values import MeasurementName, Slug
from entrypoints.http import presenters as present
from entrypoints.http import schemas as s

D = TypeVar("D")
# Distinct random values per field catch a mismap within a few examples.
few = settings(max_examples=25)

ints = st.integers(-(2**62), 2**62)
optional_ints = st.none() | ints
counts = st.integers(0, 2**40)
floats = st.floats(-1e9, 1e9, allow_nan=False)
texts = st.text(max_size=12)
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
json_objects = st.dictionaries(st.text(max_size=5), st.none() | st.booleans() | ints | floats | texts, max_size=3)
labels = st.dictionaries(st.text(min_size=1, max_size=5), texts, max_size=3)
slugs = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True).map(Slug)
measurements = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True).map(MeasurementName)

folds = st.builds(
    Fold,
    fold_number=st.integers(0, 1_000_000),
    train_start=optional_ints,
    train_end=optional_ints,
    test_start=optional_ints,
    test_end=optional_ints,
    train_start_ts=optional_ints,
    train_end_ts=optional_ints,
    test_start_ts=optional_ints,
    test_end_ts=optional_ints,
    thresholds=st.dictionaries(st.text(max_size=5), floats, max_size=3),
    metrics=json_objects,
)
runs = st.builds(
    WalkforwardRun,
    run_id=st.uuids(),
    dataset_id=st.uuids(),
    dataset_slug=slugs,
    prediction_measurement=measurements,
    status=st.sampled_from(RecordStatus),
    created_at=moments,
    target_column=st.none() | texts,
    feature_columns=st.lists(texts, max_size=3),
    walk_config=json_objects,
    hyperparameters=json_objects,
    summary_metrics=json_objects,
    folds=st.lists(folds, max_size=3, unique_by=lambda f: f.fold_number),
    clipboard_text=st.none() | texts,
    started_at=st.none() | moments,
    completed_at=st.none() | moments,
    declared_fold_count=st.none() | st.integers(1, 1000),
    name=st.none() | texts,
    tags=labels,
    notes=st.none() | texts,
    dataset_version=st.none() | counts,
)
buckets = st.builds(
    TradeBucket,
    bucket=texts,
    trade_count=counts,
    win_count=counts,
    loss_count=counts,
    total_pnl=floats,
    avg_pnl=floats,
    avg_return_pct=floats,
    max_win=floats,
    max_loss=floats,
)
simulations = st.builds(
    Simulation,
    simulation_id=st.uuids(),
    run_id=st.uuids(),
    dataset_id=st.uuids(),
    trades_measurement=measurements,
    status=st.sampled_from(RecordStatus),
    created_at=moments,
    config=json_objects,
    summary_metrics=json_objects,
    trade_count=counts,
    trade_buckets=st.lists(buckets, max_size=3),
    started_at=st.none() | moments,
    completed_at=st.none() | moments,
    name=st.none() | texts,
    tags=labels,
    notes=st.none() | texts,
    dataset_version=st.none() | counts,
)
datasets = st.builds(
    Dataset,
    dataset_id=st.uuids(),
    dataset_slug=slugs,
    ohlcv_measurement=measurements,
    indicator_measurement=measurements,
    created_at=moments,
    updated_at=moments,
    symbol=st.none() | texts,
    granularity=st.none() | texts,
    source=st.none() | texts,
    ohlcv_rows=counts,
    indicator_rows=counts,
    ohlcv_first_ts=optional_ints,
    ohlcv_last_ts=optional_ints,
    indicator_first_ts=optional_ints,
    indicator_last_ts=optional_ints,
    metadata=json_objects,
)
jobs = st.builds(
    Job,
    job_id=st.uuids(),
    type=texts,
    status=st.sampled_from(JobStatus),
    created_at=moments,
    updated_at=moments,
    # Server-side keys (file paths) never reach the wire; the rest of the payload does.
    payload=json_objects.map(lambda d: {k: v for k, v in d.items() if k not in SERVER_SIDE_KEYS}),
    progress=counts,
    total=st.none() | counts,
    message=st.none() | texts,
    result=st.none() | json_objects,
    error=st.none() | texts,
    attempts=counts,
    max_attempts=counts,
    priority=ints,
    worker_id=st.none() | texts,
    started_at=st.none() | moments,
    completed_at=st.none() | moments,
)
trades = st.builds(
    Trade,
    trade_id=ints,
    bar_timestamp=st.integers(0, 2**62),
    side=st.sampled_from(Side),
    entry_price=st.none() | floats,
    exit_price=st.none() | floats,
    quantity=st.none() | floats,
    pnl=st.none() | floats,
    return_pct=st.none() | floats,
    fees=st.none() | floats,
    fold_number=st.none() | st.integers(0, 1000),
    entry_timestamp=st.none() | st.integers(0, 2**62),
    exit_timestamp=st.none() | st.integers(0, 2**62),
)


def _trusted(kind: type, value: Any) -> Any:
    if kind in (Slug, MeasurementName):
        return kind(value)
    raise NotImplementedError(kind)


def back(out: msgspec.Struct, domain: type[D], **extra: Any) -> D:
    """The wire struct read back as the domain object, by field name only."""
    return msgspec.convert({**msgspec.to_builtins(out), **extra}, domain, dec_hook=_trusted)


@few
@given(runs)
def test_a_run_read_back_from_its_wire_form_is_the_same_run(run: WalkforwardRun) -> None:
    out = present.run_out(run, "")
    assert out.fold_count == run.fold_count
    again = back(out, WalkforwardRun, declared_fold_count=run.declared_fold_count)
    assert again == run


@few
@given(runs)
def test_a_run_summary_carries_each_field_under_its_own_name(run: WalkforwardRun) -> None:
    summary = msgspec.to_builtins(present.run_summary(run))
    full = msgspec.to_builtins(present.run_out(run, ""))
    assert summary == {name: full[name] for name in summary}


@few
@given(simulations)
def test_a_simulation_read_back_from_its_wire_form_is_the_same_simulation(simulation: Simulation) -> None:
    assert back(present.simulation_out(simulation, ""), Simulation) == simulation


@few
@given(datasets)
def test_a_dataset_read_back_from_its_wire_form_is_the_same_dataset(dataset: Dataset) -> None:
    assert back(present.dataset_out(dataset), Dataset) == dataset


@few
@given(jobs)
def test_a_job_read_back_from_its_wire_form_is_the_same_job_but_the_server_side_fields(job: Job) -> None:
    hidden = {"run_after": job.run_after, "lease_expires_at": job.lease_expires_at}
    again = back(present.job_out(job), Job, **hidden, cancel_requested=job.cancel_requested)
    assert again == job


@few
@given(trades)
def test_a_trade_read_back_from_its_wire_form_in_nanoseconds_is_the_same_trade(trade: Trade) -> None:
    assert back(present.trade_out(trade, "ns"), Trade) == trade


@few
@given(st.lists(folds, max_size=4))
def test_folds_sent_by_a_client_become_the_same_domain_folds(sent: list[Fold]) -> None:
    wire = msgspec.convert(msgspec.to_builtins(sent), list[s.FoldIn])
    assert msgspec.convert(wire, list[Fold], from_attributes=True) == sent


@few
@given(st.lists(buckets, max_size=4))
def test_trade_buckets_sent_by_a_client_become_the_same_domain_buckets(sent: list[TradeBucket]) -> None:
    wire = msgspec.convert(msgspec.to_builtins(sent), list[s.TradeBucketIO])
    assert msgspec.convert(wire, list[TradeBucket], from_attributes=True) == sent
