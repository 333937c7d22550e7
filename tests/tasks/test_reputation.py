"""Reputation across projects, the held cap, suspension and reweighing, on a real database."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import Conflict
from tasks import discounting, reputation
from tasks.assignment import get_next_task
from tasks.availability import unavailable_reason
from tasks.crowd import newcomer_accuracy
from tasks.detection import QualityRules
from tasks.models import Task, TaskStatus, TaskType
from tasks.progress import worker_accuracies
from tasks.review import release_unproven
from tasks.submission import submit_answer
from tests.conftest import RecordingJobQueue
from tests.tasks import factories
from workers import services as workers
from workers.models import Worker


def _answer_one(session: Session, worker: Worker, now: datetime) -> Task:
    """Take the next task and answer "1" at a human pace; the task answered."""
    view = get_next_task(session, worker, now)
    assert view is not None
    submit_answer(session, worker, view.task_id, "1", now + timedelta(seconds=5))
    return session.get_one(Task, view.task_id)


def test_a_newcomer_starts_near_chance_not_at_seventy_percent(session: Session) -> None:
    project = factories.project(session, texts=["t"])
    worker = factories.worker(session)
    k = reputation.options_of(project)
    [accuracy] = reputation.accuracies(session, [worker.id], project.task_type, k).values()
    # Chance (1/3) plus a quarter of the way to certainty: the aggregators' newcomer.
    assert accuracy == pytest.approx(1 / 3 + 0.25 * (2 / 3)) == newcomer_accuracy(3)
    assert accuracy < 0.7
    # Aggregators are given only workers with a record; they weigh the rest the same way.
    assert worker_accuracies(session, project.id, [worker.id]) == {}


def test_gold_counts_across_projects_of_the_same_type(session: Session) -> None:
    gold = {f"g{i}": "A" for i in range(6)}
    first = factories.project(session, gold=gold, gold_rate=1.0, texts=["t"])
    second = factories.project(session, texts=["u"])
    worker = factories.worker(session)
    now = utcnow()
    for _ in range(6):
        view = get_next_task(session, worker, now)
        assert view is not None and view.project_id == first.id
        submit_answer(session, worker, view.task_id, "1", now + timedelta(seconds=5))
    # The second project, never answered, already knows the record: no new probation.
    [on_second] = worker_accuracies(session, second.id, [worker.id]).values()
    assert on_second == pytest.approx(reputation.estimate(6, 6, 3))
    assert reputation.headline(session, worker.id) == pytest.approx(on_second)
    [summary] = reputation.summary(session, worker.id)
    assert (summary.task_type, summary.answered, summary.correct) == (TaskType.SINGLE_CHOICE, 6, 6)


def test_the_held_cap_stops_serving_tasks(session: Session) -> None:
    factories.project(session, texts=[f"t{i}" for i in range(5)], min_seconds_per_answer=60.0)
    worker = factories.worker(session)
    rules = QualityRules(max_held=2, fast_streak=99)
    now = utcnow()
    for _ in range(2):
        view = get_next_task(session, worker, now, rules=rules)
        assert view is not None
        result = submit_answer(session, worker, view.task_id, "1", now, rules=rules)
        assert result.flag_reason == "too_fast" and result.paid is None
    assert get_next_task(session, worker, now, rules=rules) is None
    assert unavailable_reason(session, worker, rules) == "held"


def test_a_chance_verdict_suspends_and_queues_reweighing(
    session: Session, sent_jobs: RecordingJobQueue
) -> None:
    gold = {f"g{i}": "A" for i in range(10)}
    factories.project(session, gold=gold, gold_rate=1.0, texts=["t"])
    worker = factories.worker(session)
    now = utcnow()
    while (view := get_next_task(session, worker, now)) is not None:
        submit_answer(session, worker, view.task_id, "3", now + timedelta(seconds=5))
    assert workers.is_suspended(worker) and worker.suspension_reason == "chance"
    assert unavailable_reason(session, worker, QualityRules()) == "suspended"
    session.commit()  # jobs leave on commit (the test's outer transaction still rolls back)
    assert [j.args for j in sent_jobs.sent if j.func == "tasks.jobs.reweigh_worker"] == [
        (worker.id,)
    ]
    workers.reinstate(session, worker.id, reason="reviewed by phone")
    assert not workers.is_suspended(worker) and worker.quality_flags == 0
    with pytest.raises(Conflict):
        workers.reinstate(session, worker.id, reason="again")


def test_reweighing_reopens_a_task_whose_confidence_fell(session: Session) -> None:
    project = factories.project(
        session,
        texts=["t"],
        answers_per_task=1,
        max_answers=3,
        aggregator="weighted",
        target_confidence=0.6,  # above one newcomer's vote (0.5 among three options)
    )
    worker = factories.worker(session)
    now = utcnow()
    task = _answer_one(session, worker, now)
    # Complete by hand as an earlier, more trusting rule would have left it.
    task.status, task.confidence = TaskStatus.COMPLETE, 0.9
    session.flush()
    assert discounting.reweigh_worker(session, worker.id, now) == [task.id]
    session.refresh(task)
    assert task.status is TaskStatus.OPEN and task.confidence is not None
    assert task.confidence < project.target_confidence
    assert task.wanted_answers == 2


def test_answers_held_while_unproven_are_paid_once_gold_proves_the_worker(
    session: Session, sent_jobs: RecordingJobQueue
) -> None:
    gold = {f"g{i:02d}": "A" for i in range(20)}
    factories.project(session, gold=gold, gold_rate=1.0, texts=["t"])
    worker = factories.worker(session)
    now = utcnow()
    # Wrong twice, then right: unproven (held) at the third gold answer, proven later.
    outcomes = []
    for raw in ["2", "2", "1", "1", "1", "1", "1", "1", "1"]:
        view = get_next_task(session, worker, now)
        assert view is not None
        outcomes.append(submit_answer(session, worker, view.task_id, raw, now).flag_reason)
    assert "unproven" in outcomes and outcomes[-1] is None
    session.commit()
    assert [j.args for j in sent_jobs.sent if j.func == "tasks.jobs.release_proven"] != []
    released = release_unproven(session, worker.id, now)
    assert len(released) == outcomes.count("unproven")
    assert release_unproven(session, worker.id, now) == []  # once only


def test_a_suspended_workers_answers_stop_counting_and_their_tasks_reopen(
    session: Session,
) -> None:
    # One newcomer's answer is 0.5 confident among three options: enough for this target.
    project = factories.project(
        session, texts=["t"], answers_per_task=1, max_answers=2, target_confidence=0.5
    )
    worker = factories.worker(session)
    now = utcnow()
    task = _answer_one(session, worker, now)
    assert task.status is TaskStatus.COMPLETE and task.answers_count == 1
    assert workers.record_flag(session, worker.id, "pattern", now, flags_to_suspend=1)
    assert discounting.reweigh_worker(session, worker.id, now) == [task.id]
    session.refresh(task)
    assert (task.status, task.answers_count, task.result) == (TaskStatus.OPEN, 0, None)
    session.refresh(project)
    assert project.paid_minor == project.reward_minor  # the wage paid stays paid
    other = factories.worker(session)
    again = get_next_task(session, other, now)
    assert again is not None and again.task_id == task.id  # open for a trustworthy answer
