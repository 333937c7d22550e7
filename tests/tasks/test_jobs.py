"""Completion webhooks (signed, retried) and the reservation sweep."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from rq import Queue
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Request, Response

from core.db import utcnow
from core.jobs import pending_jobs
from core.runtime import Runtime
from core.worker import run_worker
from kazi.app import build_kazi_runtime
from kazi.background import sweep_timer
from tasks import jobs
from tasks.assignment import get_next_task
from tasks.jobs import (
    SIGNATURE_HEADER,
    expire_assignment,
    schedule_reservation_sweep,
    send_completion_webhook,
)
from tasks.models import Assignment, AssignmentStatus, Project
from tasks.progress import WEBHOOK_RETRY
from tasks.submission import submit_answer
from tests.conftest import RecordingJobQueue, make_settings
from tests.emulators.http import BackgroundServer
from tests.tasks import factories


class Receiver:
    """A requester's webhook endpoint: records raw bodies and headers; can fail first."""

    def __init__(self, failures: int = 0) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []
        self.failures = failures
        self._lock = threading.Lock()
        self._server = BackgroundServer(self._app)
        self.url = self._server.url + "/hooks/kazi"

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self._lock:
            self.received.append((request.get_data(), dict(request.headers)))
            status = 500 if len(self.received) <= self.failures else 204
        return Response(status=status)(environ, start_response)

    def __enter__(self) -> Receiver:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()


@pytest.fixture
def committed_runtime(committed_url: str, redis_url: str) -> Iterator[Runtime]:
    """The production-shaped runtime, letting webhooks reach the local Receiver only."""
    settings = make_settings(
        database_url=committed_url, redis_url=redis_url, webhook_allowed_hosts=("127.0.0.1",)
    )
    runtime = build_kazi_runtime(settings)
    yield runtime
    runtime.engine.dispose()


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_a_webhook_into_our_own_network_is_never_sent(
    committed_url: str, redis_url: str, redis_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = build_kazi_runtime(make_settings(database_url=committed_url, redis_url=redis_url))
    try:
        with Receiver() as receiver, runtime.activated():
            with runtime.sessions.begin() as session:
                project = _finish_project(session, receiver.url)
            send_completion_webhook(project.id)  # refused: no exception, nothing to retry
        assert receiver.received == []
        assert "non-public address" in caplog.text
    finally:
        runtime.engine.dispose()


def _finish_project(session: Session, url: str) -> Project:
    project = factories.project(
        session, texts=["t1"], answers_per_task=1, max_answers=1, webhook_url=url
    )
    worker = factories.worker(session)
    now = utcnow()
    view = get_next_task(session, worker, now)
    assert view is not None
    submit_answer(session, worker, view.task_id, "1", now + timedelta(seconds=5))
    return project


def test_last_answer_queues_one_webhook_with_backoff(
    session: Session, sent_jobs: RecordingJobQueue
) -> None:
    _finish_project(session, "https://requester.example/hook")
    session.commit()
    hooks = [j for j in sent_jobs.sent if j.func == "tasks.jobs.send_completion_webhook"]
    assert len(hooks) == 1 and hooks[0].retry is WEBHOOK_RETRY and WEBHOOK_RETRY.max == 5
    assert WEBHOOK_RETRY.intervals == sorted(WEBHOOK_RETRY.intervals)  # backing off


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_webhook_is_signed_and_a_failure_raises_for_retry(
    committed_runtime: Runtime, redis_client: Any
) -> None:
    with Receiver(failures=1) as receiver, committed_runtime.activated():
        with committed_runtime.sessions.begin() as session:
            project = _finish_project(session, receiver.url)
        with pytest.raises(requests.HTTPError):
            send_completion_webhook(project.id)  # rq retries on this exception
        send_completion_webhook(project.id)
    body, headers = receiver.received[-1]
    assert project.webhook_secret is not None
    expected = hmac.new(project.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers[SIGNATURE_HEADER] == f"sha256={expected}"
    payload = json.loads(body)
    assert payload["event"] == "project.completed" and payload["project_id"] == project.id
    assert payload["results_url"].endswith(f"/api/v1/projects/{project.id}/results")


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_webhook_runs_on_a_real_rq_worker(committed_runtime: Runtime, redis_client: Any) -> None:
    with Receiver() as receiver:
        with committed_runtime.sessions.begin() as session:
            _finish_project(session, receiver.url)
        run_worker(committed_runtime, ["default"], burst=True)
    assert len(receiver.received) == 1


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_expiry_job_releases_only_an_expired_reservation(
    committed_runtime: Runtime, redis_client: Any
) -> None:
    with committed_runtime.sessions.begin() as session:
        factories.project(session, texts=["t1"], reservation_minutes=1)
        view = get_next_task(session, factories.worker(session), utcnow() - timedelta(minutes=2))
        assert view is not None
        fresh = get_next_task(session, factories.worker(session), utcnow())
        assert fresh is not None
    with committed_runtime.activated():
        expire_assignment(view.assignment_id)
        expire_assignment(fresh.assignment_id)
        assert jobs.expire_reservations() == 0
    with committed_runtime.sessions.begin() as session:
        statuses = session.scalars(select(Assignment.status).order_by(Assignment.id)).all()
    assert statuses == [AssignmentStatus.EXPIRED, AssignmentStatus.RESERVED]


def test_a_pick_queues_no_job_of_its_own(session: Session) -> None:
    # Lapsed reservations are the sweep's work: a pick on the hot path sends nothing to rq.
    factories.project(session, texts=["t1"])
    assert get_next_task(session, factories.worker(session), utcnow()) is not None
    assert pending_jobs(session) == []


@pytest.mark.parametrize("db_kind", ["postgresql"])
def test_the_sweep_releases_lapsed_reservations_and_queues_its_next_tick(
    committed_url: str, redis_url: str, redis_client: Any
) -> None:
    settings = make_settings(
        database_url=committed_url, redis_url=redis_url, reservation_sweep_seconds=60
    )
    runtime = build_kazi_runtime(settings)
    try:
        with runtime.sessions.begin() as session:
            factories.project(session, texts=["t1", "t2"], reservation_minutes=1)
            lapsed = get_next_task(
                session, factories.worker(session), utcnow() - timedelta(minutes=2)
            )
            fresh = get_next_task(session, factories.worker(session), utcnow())
            assert lapsed is not None and fresh is not None
            schedule_reservation_sweep(
                session, settings.reservation_sweep_seconds
            )  # as `flask worker`
        registry = ScheduledJobRegistry(queue=Queue("default", connection=redis_client))
        [first] = registry.get_job_ids()
        assert first.startswith("tick-tasks-jobs-expire_reservations-60-")
        Queue("default", connection=redis_client).enqueue("tasks.jobs.expire_reservations", True)
        run_worker(runtime, ["default"], burst=True)
        with runtime.sessions() as session:
            statuses = session.scalars(select(Assignment.status).order_by(Assignment.id)).all()
        assert statuses == [AssignmentStatus.EXPIRED, AssignmentStatus.RESERVED]
        # The tick queued the next slot's, which is the one already waiting: one chain.
        assert registry.get_job_ids() == [first]
    finally:
        runtime.engine.dispose()


def test_the_embedded_default_sweeps_on_a_timer_unless_turned_off(committed_url: str) -> None:
    on = build_kazi_runtime(make_settings(database_url=committed_url, reservation_sweep_seconds=30))
    off = build_kazi_runtime(make_settings(database_url=committed_url))
    try:
        timer = sweep_timer(on)
        assert timer is not None and sweep_timer(off) is None
        assert not timer.running  # started by the first request, not by building it
    finally:
        on.engine.dispose()
        off.engine.dispose()
