"""Whole-project results in the background: the refresh job, versioned snapshots, gold clamped."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.jobs import pending_jobs
from tasks.assignment import get_next_task
from tasks.models import Assignment, AssignmentStatus, Project, ResultSnapshot, Task
from tasks.progress import REFRESH_RESULTS_SECONDS
from tasks.results import Query, project_results
from tasks.snapshots import KEEP_VERSIONS, latest_snapshot, refresh_snapshot
from tasks.submission import submit_answer
from tests.tasks import factories


def _answer(session: Session, project: Project, raw: str) -> None:
    worker = factories.worker(session)
    now = utcnow()
    view = get_next_task(session, worker, now)
    assert view is not None and view.project_id == project.id
    submit_answer(session, worker, view.task_id, raw, now + timedelta(seconds=9))


def test_answers_queue_one_refresh_by_name_at_the_end_of_the_window(session: Session) -> None:
    project = factories.project(session, texts=["t1", "t2"], answers_per_task=2)
    _answer(session, project, "1")
    _answer(session, project, "2")
    refreshes = [j for j in pending_jobs(session) if j.func == "tasks.jobs.refresh_results"]
    assert refreshes and all(j.args == (project.id,) for j in refreshes)
    assert all(
        j.job_id and j.job_id.startswith(f"refresh-results-{project.id}-") for j in refreshes
    )
    assert all(
        j.delay is not None and timedelta(0) < j.delay <= timedelta(seconds=REFRESH_RESULTS_SECONDS)
        for j in refreshes
    )
    # One job per window: answers close together share an id (rq keeps one job per id).
    assert len({j.job_id for j in refreshes}) <= 2


def test_snapshots_are_versioned_and_written_only_on_change(session: Session) -> None:
    project = factories.project(session, texts=["t1"], answers_per_task=3)
    _answer(session, project, "1")
    first = refresh_snapshot(session, project, utcnow())
    assert first is not None and first.version == 1
    assert refresh_snapshot(session, project, utcnow()) is None  # nothing changed
    _answer(session, project, "1")
    second = refresh_snapshot(session, project, utcnow())
    assert second is not None and second.version == 2
    task = session.scalars(select(Task).where(Task.project_id == project.id)).one()
    label, confidence, n, tied, changed = second.results["tasks"][str(task.id)]
    assert (label, n, tied) == ("A", 2, False) and confidence == pytest.approx(4 / 6)
    page = project_results(session, project)
    assert page.version == 2 and page.rows[0]["changed_at"] == changed


def test_old_versions_are_pruned(session: Session) -> None:
    texts = [f"t{i}" for i in range(KEEP_VERSIONS + 2)]
    project = factories.project(session, texts=texts, answers_per_task=1, max_answers=1)
    for _ in texts:  # each answer completes another task: a new version each time
        _answer(session, project, "1")
        assert refresh_snapshot(session, project, utcnow()) is not None
    versions = session.scalars(
        select(ResultSnapshot.version).where(ResultSnapshot.project_id == project.id)
    ).all()
    assert sorted(versions) == list(range(3, KEEP_VERSIONS + 3))


def _answered(session: Session, task: Task, worker_id: int, answer: str) -> None:
    now = utcnow()
    session.add(
        Assignment(
            task_id=task.id,
            worker_id=worker_id,
            status=AssignmentStatus.ANSWERED,
            expires_at=now,
            answered_at=now,
            answer=answer,
            seconds_taken=9.0,
        )
    )


@pytest.mark.parametrize("aggregator", ["dawid_skene", "majority"])
def test_gold_answers_clamp_the_truth_in_production(session: Session, aggregator: str) -> None:
    # A swapper (A<->B) answered ten gold tasks; gold proves the swap, so Dawid-Skene
    # reads their lone answer "B" to the real task as "A". Majority vote cannot.
    gold = {f"g{i}": ("A" if i % 2 else "B") for i in range(10)}
    project = factories.project(
        session, texts=["real"], gold=gold, aggregator=aggregator, answers_per_task=1
    )
    swapper = factories.worker(session)
    tasks = {t.external_id: t for t in session.scalars(select(Task))}
    for ext, known in gold.items():
        _answered(session, tasks[ext], swapper.id, "B" if known == "A" else "A")
    _answered(session, tasks["real"], swapper.id, "B")
    session.flush()
    snapshot = refresh_snapshot(session, project, utcnow())
    assert snapshot is not None
    assert set(snapshot.results["tasks"]) == {str(tasks["real"].id)}  # gold reported apart
    label = snapshot.results["tasks"][str(tasks["real"].id)][0]
    assert label == ("A" if aggregator == "dawid_skene" else "B")
    assert latest_snapshot(session, project.id) is snapshot
    assert project_results(session, project, Query(include_answers=True)).rows[0]["answer"] == label
