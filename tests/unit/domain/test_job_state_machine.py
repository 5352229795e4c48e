from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.errors import InvalidTransition
from domain.jobs import Job, JobStatus, backoff

NOW = datetime(2025, 11, 10, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def a_job(max_attempts: int = 3) -> Job:
    return Job.submit(uuid4(), "questdb_import", {"measurement": "m"}, NOW, max_attempts=max_attempts)


def test_a_claimed_job_runs_under_a_lease_and_counts_the_attempt() -> None:
    job = a_job()
    job.claim("w1", NOW, LEASE)
    assert (job.status, job.worker_id, job.attempts) == (JobStatus.RUNNING, "w1", 1)
    assert job.lease_expires_at == NOW + LEASE
    assert not job.lease_expired(NOW + LEASE) and job.lease_expired(NOW + LEASE + timedelta(seconds=1))


def test_a_failed_attempt_goes_back_to_pending_after_an_exponential_backoff() -> None:
    job = a_job()
    job.claim("w1", NOW, LEASE)
    job.fail("boom", NOW)
    assert job.status is JobStatus.PENDING and job.run_after == NOW + backoff(1)
    job.claim("w2", NOW, LEASE)
    job.fail("boom again", NOW)
    assert job.run_after == NOW + backoff(2) and backoff(2) == 2 * backoff(1)


def test_the_last_allowed_attempt_fails_the_job_with_its_error() -> None:
    job = a_job(max_attempts=1)
    job.claim("w1", NOW, LEASE)
    job.fail("bad file", NOW)
    assert (job.status, job.error, job.completed_at) == (JobStatus.FAILED, "bad file", NOW)


def test_a_pending_job_is_cancelled_at_once_and_a_running_one_when_it_next_reports() -> None:
    pending = a_job()
    pending.cancel(NOW)
    assert pending.status is JobStatus.CANCELLED
    running = a_job()
    running.claim("w1", NOW, LEASE)
    running.cancel(NOW)
    assert running.status is JobStatus.RUNNING and running.cancel_requested
    running.acknowledge_cancel(NOW)
    assert running.status is JobStatus.CANCELLED


def test_only_failed_or_cancelled_jobs_can_be_retried_and_they_start_afresh() -> None:
    job = a_job(max_attempts=1)
    with pytest.raises(InvalidTransition):
        job.retry(NOW)
    job.claim("w1", NOW, LEASE)
    job.fail("x", NOW)
    job.retry(NOW)
    assert (job.status, job.attempts, job.error, job.completed_at) == (JobStatus.PENDING, 0, None, None)


def test_a_finished_job_cannot_be_completed_twice() -> None:
    job = a_job()
    job.claim("w1", NOW, LEASE)
    job.complete({"rows": 1}, NOW)
    with pytest.raises(InvalidTransition):
        job.complete({"rows": 2}, NOW)
    with pytest.raises(InvalidTransition):
        job.cancel(NOW)
    assert job.result == {"rows": 1}


def test_backoff_grows_and_is_capped() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3)] == [2, 4, 8]
    assert backoff(50) == timedelta(minutes=5)
