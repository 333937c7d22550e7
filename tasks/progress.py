"""Incremental aggregation: after each counted answer a task is complete or wants more.

A task is aggregated from its counted answers only (answered, and not held or
rejected in review), so this stays O(answers of one task) however big the project.
Dawid-Skene learns from a whole project, so for the per-answer decision a
``dawid_skene`` project uses the accuracy-weighted vote; its results download
re-runs Dawid-Skene over the whole project (``tasks.results``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import cast

from rq import Retry
from sqlalchemy import false, or_, select, update
from sqlalchemy.orm import Session

from core.db import matched_rows
from core.jobs import enqueue
from tasks import counters, reputation
from tasks.aggregation import (
    AggregateResult,
    Decision,
    WorkerId,
    choose_aggregator,
    decide,
    numeric_median,
    text_majority,
)
from tasks.answers import labels_for
from tasks.models import (
    Assignment,
    AssignmentStatus,
    Project,
    ReviewStatus,
    Task,
    TaskStatus,
    TaskType,
)
from tasks.projects import answer_spec

Row = tuple[int, int, str]

#: Completion webhooks retry with backoff: 30 s, 2 min, 10 min, 30 min, 2 h.
WEBHOOK_RETRY = Retry(max=5, interval=[30, 120, 600, 1800, 7200])


def counted_answers(session: Session, task_ids: Sequence[int] | None, project_id: int) -> list[Row]:
    """The (task, worker, value) answers that count, of some tasks or of a whole project."""
    stmt = (
        select(Assignment.task_id, Assignment.worker_id, Assignment.answer)
        .join(Task, Task.id == Assignment.task_id)
        .where(
            Task.project_id == project_id,
            Task.is_gold == false(),
            Assignment.status == AssignmentStatus.ANSWERED,
            or_(
                Assignment.review_status.is_(None),
                Assignment.review_status == ReviewStatus.ACCEPTED,
            ),
        )
    )
    if task_ids is not None:
        stmt = stmt.where(Assignment.task_id.in_(task_ids))
    # An answered assignment always has its answer: tasks.submission sets both at once.
    return [(t, w, cast(str, a)) for t, w, a in session.execute(stmt)]


def worker_accuracies(
    session: Session, project_id: int, worker_ids: Iterable[int]
) -> dict[WorkerId, float]:
    """Each worker's reputation on the project's task type, from gold across all projects."""
    # One estimate everywhere (tasks.reputation): probation and weights do not restart
    # per project, and a newcomer's prior sits near chance, not at an expert's 0.7.
    project = session.get_one(Project, project_id)
    found = reputation.accuracies(
        session, worker_ids, project.task_type, reputation.options_of(project)
    )
    return {w: a for w, a in found.items()}


def aggregate(
    session: Session, project: Project, rows: list[Row], *, whole_project: bool = False
) -> dict[int, AggregateResult]:
    """Aggregate answers with the project's method (Dawid-Skene only over a whole project)."""
    if not rows:
        return {}
    if project.task_type is TaskType.FREE_TEXT:
        return {int(k): v for k, v in text_majority(rows).items()}
    if project.task_type is TaskType.NUMBER:
        return {int(k): v for k, v in numeric_median((t, w, float(a)) for t, w, a in rows).items()}
    name = project.aggregator
    if name == "dawid_skene" and not whole_project:
        name = "weighted"
    method = choose_aggregator(name)
    accuracies = worker_accuracies(session, project.id, (w for _, w, _ in rows))
    labels = labels_for(answer_spec(project))
    return {int(k): v for k, v in method(rows, labels, accuracies=accuracies).items()}


def aggregate_task(session: Session, task_id: int, now: datetime) -> Decision:
    """Re-aggregate one task after an answer counted, and complete it or ask for more."""
    task = session.get_one(Task, task_id)
    session.refresh(task)
    project = session.get_one(Project, task.project_id)
    result = aggregate(session, project, counted_answers(session, [task_id], project.id)).get(
        task_id
    )
    n = result.n_answers if result else 0
    decision = decide(
        result, n, project.answers_per_task, project.max_answers, project.target_confidence
    )
    if result is not None:
        task.result = str(result.label)
        task.confidence = result.confidence
    if decision is Decision.COMPLETE and task.status != TaskStatus.COMPLETE:
        task.status = TaskStatus.COMPLETE
        task.completed_at = now
        session.flush()
        _maybe_complete_project(session, project, now)
    elif decision is Decision.NEEDS_MORE and task.status == TaskStatus.OPEN:
        # A late answer to a finished task (a reservation that was still out) is paid
        # and counted in its result, but never reopens it.
        session.flush()
        counters.want_one_more(session, task_id, project.max_answers)
    else:
        session.flush()
    return decision


def _maybe_complete_project(session: Session, project: Project, now: datetime) -> None:
    open_left = session.scalar(
        select(Task.id)
        .where(
            Task.project_id == project.id, Task.status == TaskStatus.OPEN, Task.is_gold == false()
        )
        .limit(1)
    )
    if open_left is not None:
        return
    # The guarded update lets exactly one of several concurrent last answers send the webhook.
    done = session.execute(
        update(Project)
        .where(Project.id == project.id, Project.completed_at.is_(None))
        .values(completed_at=now),
        execution_options={"synchronize_session": False},
    )
    session.expire(project, ["completed_at"])
    if matched_rows(done) == 1 and webhook_url_of(session, project):
        enqueue(
            session,
            "tasks.jobs.send_completion_webhook",
            project.id,
            job_id=f"webhook-project-{project.id}-{int(now.timestamp())}",
            retry=WEBHOOK_RETRY,
        )


def webhook_url_of(session: Session, project: Project) -> str | None:
    """Where a project's completion webhook goes: its own URL, else its requester's."""
    if project.webhook_url:
        return project.webhook_url
    from tasks.models import Requester

    return session.get_one(Requester, project.requester_id).webhook_url
