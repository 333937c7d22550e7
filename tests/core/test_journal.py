"""The embedded job queue's journal: a job outlives the process that queued it.

Each runtime here stands for one process (a gunicorn worker) on the same database. A
process that dies leaves its queued jobs in the journal; once their lease has ended
(the clock is moved, not waited for), a live process adopts and runs each one once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from rq import Retry
from sqlalchemy import func, select

from core.db import utcnow
from core.jobs import InProcessJobQueue, JobSpec
from core.journal import LEASE, JobJournal, JournalledJob
from core.runtime import Runtime, build_runtime
from tests.conftest import make_settings
from tests.support.embedded import in_process_jobs

FLAKY = "tests.support.jobs.fail_then_succeed"


@pytest.fixture
def runtimes(committed_url: str) -> Iterator[list[Runtime]]:
    built = [build_runtime(make_settings(database_url=committed_url)) for _ in range(3)]
    yield built
    for runtime in built:
        in_process_jobs(runtime).drain(timeout=10)
        runtime.engine.dispose()


def journal_rows(runtime: Runtime) -> list[JournalledJob]:
    with runtime.sessions() as session:
        return list(session.scalars(select(JournalledJob)))


def later_queue(runtime: Runtime, hours: float) -> InProcessJobQueue:
    """Another process's runner, whose clock is ``hours`` ahead (past every lease)."""
    journal = JobJournal(runtime.engine, clock=lambda: utcnow() + timedelta(hours=hours))
    return InProcessJobQueue(runtime.activated, journal)


def test_a_job_that_ran_leaves_no_row(runtimes: list[Runtime]) -> None:
    runtime = runtimes[0]
    runtime.jobs.submit(JobSpec(FLAKY, ("ran", 0)))
    assert in_process_jobs(runtime).drain(timeout=10)
    assert runtime.store.get("ran") == b"done"
    assert journal_rows(runtime) == []


def test_a_dead_processs_job_is_adopted_after_its_lease_and_runs_once(
    runtimes: list[Runtime],
) -> None:
    dead, alive, other = runtimes
    # Queued for an hour from now by a process that will never run it (it "dies").
    dead.jobs.submit(JobSpec(FLAKY, ("orphan", 0), delay=timedelta(hours=1)))
    [row] = journal_rows(dead)
    assert row.lease_until - row.run_at == LEASE
    # Before the lease ends nobody else takes it.
    assert later_queue(alive, hours=0).adopt_orphans() == 0
    first, second = later_queue(alive, hours=2), later_queue(other, hours=2)
    assert first.adopt_orphans() + second.adopt_orphans() == 1  # one process takes it
    assert first.drain(timeout=10) and second.drain(timeout=10)
    assert alive.store.get("orphan") == b"done"
    assert alive.store.get("orphan:attempts") == b"1"
    assert journal_rows(alive) == []


def test_a_failing_job_keeps_its_row_until_its_retries_are_done(runtimes: list[Runtime]) -> None:
    runtime = runtimes[0]
    spec = JobSpec(FLAKY, ("flaky", 1), retry=Retry(max=1, interval=[3600]))
    runtime.jobs.submit(spec)
    assert in_process_jobs(runtime).drain(timeout=10)
    [row] = journal_rows(runtime)
    assert row.attempt == 1 and row.retry_max == 1 and row.retry_intervals == [3600]
    # The process dies before the retry is due; another adopts the retry with its attempt.
    adopter = later_queue(runtimes[1], hours=3)
    assert adopter.adopt_orphans() == 1
    assert adopter.drain(timeout=10)
    assert runtime.store.get("flaky") == b"done"
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(JournalledJob)) == 0
