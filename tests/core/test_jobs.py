"""Jobs go out after commit, never on rollback: in-process, and through a real rq worker."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from redis import Redis
from redis.connection import Connection
from rq import Queue, Retry

from core.jobs import JobSpec, RqJobQueue, enqueue, resolve
from core.runtime import Runtime, build_runtime
from core.worker import run_worker
from tests.conftest import RecordingJobQueue, make_settings
from tests.support.embedded import in_process_jobs
from workers.models import Worker

#: The test jobs by dotted name, as services name theirs.
RECORD = "tests.support.jobs.record_worker_language"
FLAKY = "tests.support.jobs.fail_then_succeed"


def add_worker(runtime: Runtime, key: str, *, commit: bool) -> int:
    """Add a worker and enqueue a job about it in the same transaction."""
    session = runtime.sessions()
    worker = Worker(msisdn="+2547" + str(uuid.uuid4().int)[:8], country="KE", language="sw")
    session.add(worker)
    session.flush()
    enqueue(session, RECORD, worker.id, key)
    if commit:
        session.commit()
    else:
        session.rollback()
    session.close()
    return worker.id


@pytest.fixture
def embedded_runtime(committed_url: str) -> Iterator[Runtime]:
    runtime = build_runtime(make_settings(database_url=committed_url))
    yield runtime
    runtime.engine.dispose()


def test_enqueue_holds_jobs_until_commit(session, sent_jobs: RecordingJobQueue) -> None:
    enqueue(session, RECORD, 1, "k")
    assert sent_jobs.sent == []
    session.commit()
    assert [spec.args for spec in sent_jobs.sent] == [(1, "k")]


def test_a_released_savepoint_does_not_send_its_jobs_before_the_commit(
    session, sent_jobs: RecordingJobQueue
) -> None:
    with session.begin_nested():
        enqueue(session, RECORD, 1, "k")
    assert sent_jobs.sent == []  # the job would run before its rows are visible
    session.commit()
    assert [spec.args for spec in sent_jobs.sent] == [(1, "k")]


def test_enqueue_drops_jobs_on_rollback(session, sent_jobs: RecordingJobQueue) -> None:
    enqueue(session, RECORD, 1, "k")
    session.rollback()
    session.commit()
    assert sent_jobs.sent == []


def test_unknown_queue_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown queue 'sms-fast'"):
        JobSpec(RECORD, queue="sms-fast")


def test_a_job_is_named_by_dotted_path_and_resolved_when_it_runs() -> None:
    with pytest.raises(ValueError, match="dotted path"):
        JobSpec("record_worker_language")
    assert resolve(RECORD).__name__ == "record_worker_language"
    with pytest.raises(LookupError, match="no job function"):
        resolve("tests.support.jobs.no_such_job")


def test_in_process_runner_runs_the_job_after_commit(embedded_runtime: Runtime) -> None:
    add_worker(embedded_runtime, "ran", commit=True)
    assert in_process_jobs(embedded_runtime).drain(timeout=10)
    assert embedded_runtime.store.get("ran") == b"sw"


def test_in_process_runner_never_runs_a_rolled_back_job(embedded_runtime: Runtime) -> None:
    add_worker(embedded_runtime, "never", commit=False)
    assert in_process_jobs(embedded_runtime).drain(timeout=10)
    assert embedded_runtime.store.get("never") is None


def test_in_process_runner_retries_like_rq(embedded_runtime: Runtime) -> None:
    spec = JobSpec(FLAKY, ("flaky", 2), retry=Retry(max=2, interval=[0, 0]))
    embedded_runtime.jobs.submit(spec)
    assert in_process_jobs(embedded_runtime).drain(timeout=10)
    assert embedded_runtime.store.get("flaky") == b"done"
    assert embedded_runtime.store.get("flaky:attempts") == b"3"


def test_in_process_runner_gives_up_after_the_last_retry(embedded_runtime: Runtime) -> None:
    spec = JobSpec(FLAKY, ("hopeless", 5), retry=Retry(max=1, interval=0))
    embedded_runtime.jobs.submit(spec)
    assert in_process_jobs(embedded_runtime).drain(timeout=10)
    assert embedded_runtime.store.get("hopeless") is None
    assert embedded_runtime.store.get("hopeless:attempts") == b"2"


def test_in_process_runner_honours_a_delay(embedded_runtime: Runtime) -> None:
    embedded_runtime.jobs.submit(JobSpec(FLAKY, ("later", 0), delay=timedelta(hours=1)))
    assert in_process_jobs(embedded_runtime).drain(timeout=1)
    assert embedded_runtime.store.get("later") is None
    assert [spec.args for spec in in_process_jobs(embedded_runtime).pending()] == [("later", 0)]


def test_in_process_runner_keeps_one_waiting_job_per_id(embedded_runtime: Runtime) -> None:
    # Like rq: a job id names one job, so queuing it again while it waits adds nothing.
    for n in range(3):
        embedded_runtime.jobs.submit(
            JobSpec(FLAKY, ("once", n), job_id="same-id", delay=timedelta(hours=1))
        )
    embedded_runtime.jobs.submit(JobSpec(FLAKY, ("other", 0), delay=timedelta(hours=1)))
    pending = [spec.args for spec in in_process_jobs(embedded_runtime).pending()]
    assert sorted(pending) == [("once", 0), ("other", 0)]


@pytest.mark.redis
def test_a_job_enqueued_after_commit_runs_in_a_real_rq_worker(
    committed_runtime: Runtime, redis_client: Redis
) -> None:
    add_worker(committed_runtime, "rq-ran", commit=True)
    assert Queue("default", connection=redis_client).count == 1
    run_worker(committed_runtime, burst=True)
    # The forked work horse read the committed row and wrote to the shared Redis store.
    assert committed_runtime.store.get("rq-ran") == b"sw"
    assert Queue("default", connection=redis_client).count == 0


@pytest.mark.redis
def test_a_job_enqueued_in_a_rolled_back_transaction_never_runs(
    committed_runtime: Runtime, redis_client: Redis
) -> None:
    add_worker(committed_runtime, "rq-never", commit=False)
    assert all(Queue(name, connection=redis_client).count == 0 for name in ("default", "sms"))
    run_worker(committed_runtime, burst=True)
    assert committed_runtime.store.get("rq-never") is None


@pytest.mark.redis
def test_rq_retries_a_failing_job_in_a_real_worker(
    committed_runtime: Runtime, redis_client: Redis
) -> None:
    committed_runtime.jobs.submit(JobSpec(FLAKY, ("rq-flaky", 1), retry=Retry(max=2)))
    run_worker(committed_runtime, burst=True)
    assert committed_runtime.store.get("rq-flaky") == b"done"


@pytest.mark.redis
def test_rq_schedules_a_delayed_job_id_once_per_process_until_it_is_due(
    committed_runtime: Runtime, redis_client: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = RqJobQueue(redis_client)
    scheduled = Queue("default", connection=redis_client).scheduled_job_registry
    sent: list[str] = []
    original = Connection.send_packed_command

    def counting(self: Connection, command: Any, check_health: bool = True) -> None:
        sent.append("command")
        original(self, command, check_health)

    monkeypatch.setattr(Connection, "send_packed_command", counting)
    jobs.submit(JobSpec(FLAKY, ("window", 1), job_id="refresh-w1", delay=timedelta(minutes=5)))
    first = len(sent)
    for n in range(3):  # the same job again while it waits: nothing goes to Redis
        jobs.submit(JobSpec(FLAKY, ("window", n), job_id="refresh-w1", delay=timedelta(minutes=5)))
    assert first > 0 and len(sent) == first
    jobs.submit(JobSpec(FLAKY, ("window", 2), job_id="refresh-w2", delay=timedelta(minutes=5)))
    assert len(sent) > first  # another id is scheduled
    assert sorted(scheduled.get_job_ids()) == ["refresh-w1", "refresh-w2"]
    # Once a job is due, its id may be scheduled again (a later window's job).
    jobs.submit(JobSpec(FLAKY, ("due", 0), job_id="soon", delay=timedelta(milliseconds=1)))
    time.sleep(0.01)
    before = len(sent)
    jobs.submit(JobSpec(FLAKY, ("due", 1), job_id="soon", delay=timedelta(minutes=5)))
    assert len(sent) > before
