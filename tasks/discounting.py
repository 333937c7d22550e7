"""Discounting a worker found unreliable: their tasks are re-aggregated, and reopened if unsure.

When the spam checks suspend a worker, ``tasks.jobs.reweigh_worker`` calls
``reweigh_worker``: the worker's counted answers stop counting (marked rejected;
the wages paid for them stay paid), and every task the worker answered is
aggregated again with the current reputations (``tasks.progress.aggregate``, whose weights come from
``tasks.reputation``, so the worker's answers now weigh what a guesser's do), its
confidence is stored, and the stopping rule (``tasks.aggregation.decide``) is asked
again. A complete task that no longer reaches the project's target reopens for one
more answer, never beyond ``max_answers``; the budget guard on every claim
(``tasks.counters.reserve_budget``) keeps the extra answers within the budget.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import false, select, update
from sqlalchemy.orm import Session

from tasks import counters
from tasks.aggregation import AggregateResult, Decision, decide
from tasks.models import Assignment, AssignmentStatus, Project, ReviewStatus, Task, TaskStatus
from tasks.progress import aggregate, counted_answers, schedule_refresh
from workers import services as workers
from workers.models import Worker


def tasks_answered_by(session: Session, worker_id: int) -> dict[int, list[int]]:
    """The non-gold tasks a worker answered, by project."""
    stmt = (
        select(Task.project_id, Task.id)
        .join(Assignment, Assignment.task_id == Task.id)
        .where(
            Assignment.worker_id == worker_id,
            Assignment.status == AssignmentStatus.ANSWERED,
            Task.is_gold == false(),
        )
        .order_by(Task.project_id, Task.id)
    )
    out: dict[int, list[int]] = {}
    for project_id, task_id in session.execute(stmt):
        out.setdefault(project_id, []).append(task_id)
    return out


def reweigh_worker(session: Session, worker_id: int, now: datetime) -> list[int]:
    """Discount a suspended worker's answers and re-decide their tasks; returns those reopened."""
    answered = tasks_answered_by(session, worker_id)
    if workers_is_suspended(session, worker_id):
        _discount(session, worker_id)
    reopened: list[int] = []
    for project_id, task_ids in answered.items():
        project = session.get_one(Project, project_id)
        results = aggregate(session, project, counted_answers(session, task_ids, project_id))
        for task_id in task_ids:
            if _reweigh(session, project, session.get_one(Task, task_id), results.get(task_id)):
                reopened.append(task_id)
        # The whole-project results (snapshots) follow the discounted answers too.
        schedule_refresh(session, project_id, now)
    return reopened


def workers_is_suspended(session: Session, worker_id: int) -> bool:
    """Whether the worker is (still) suspended when the job runs (a reinstatement may precede it)."""
    return workers.is_suspended(session.get_one(Worker, worker_id))


def _discount(session: Session, worker_id: int) -> None:
    # The answers stop counting (marked rejected, so aggregation and the fair-pay
    # figures leave them out); the wages already paid stay paid, never clawed back.
    # Each task's counted answers drop by one, freeing a slot for a trustworthy answer.
    rows = session.execute(
        select(Assignment.id, Assignment.task_id)
        .join(Task, Task.id == Assignment.task_id)
        .where(
            Assignment.worker_id == worker_id,
            Assignment.status == AssignmentStatus.ANSWERED,
            Assignment.review_status.is_(None),
            Task.is_gold == false(),
        )
    ).all()
    for assignment_id, task_id in rows:
        session.execute(
            update(Assignment)
            .where(Assignment.id == assignment_id)
            .values(review_status=ReviewStatus.REJECTED),
            execution_options=counters.NO_SYNC,
        )
        session.execute(
            update(Task).where(Task.id == task_id).values(answers_count=Task.answers_count - 1),
            execution_options=counters.NO_SYNC,
        )


def _reweigh(session: Session, project: Project, task: Task, found: AggregateResult | None) -> bool:
    n = found.n_answers if found else 0
    task.result = str(found.label) if found else None
    task.confidence = found.confidence if found else None
    decision = decide(
        found, n, project.answers_per_task, project.max_answers, project.target_confidence
    )
    if decision is Decision.COMPLETE or task.status != TaskStatus.COMPLETE:
        return False
    return _reopen(session, project, task)


def _reopen(session: Session, project: Project, task: Task) -> bool:
    # The task wants one answer beyond those counted, within the project's cap; a
    # project that looked finished is not any more (its webhook goes again when it is).
    task.status = TaskStatus.OPEN
    task.completed_at = None
    session.flush()
    # No-op when the task still has a free slot (decide said more, so it is under the cap).
    counters.want_one_more(session, task.id, project.max_answers)
    session.execute(
        update(Project).where(Project.id == project.id).values(completed_at=None),
        execution_options=counters.NO_SYNC,
    )
    session.expire(task)
    return True
