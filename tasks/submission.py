"""Answers: validate, record time on task, check quality, pay, and aggregate incrementally.

``submit_answer`` is what the flow layer calls when a worker answers a reserved task.
An answer faster than the project's minimum time, or one the spam detectors flag
(``tasks.screening``: guessing, a fixed pattern, a too-fast streak, or a gold record
not yet better than guessing), is held for operator review (``tasks.review``) instead
of being paid and counted; every other answer is paid at once through the ledger, by reference
``wage:assignment:<id>``, so paying twice is impossible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from core.db import matched_rows
from core.money import Money
from ledger.wages import credit_wage
from tasks import counters
from tasks.aggregation import normalise_text
from tasks.answers import TaskType, normalise_answer
from tasks.detection import QualityRules
from tasks.errors import NoReservation, ReservationExpired
from tasks.models import (
    Assignment,
    AssignmentStatus,
    Project,
    ReviewStatus,
    Task,
    WorkerProjectStats,
)
from tasks.progress import aggregate_task
from tasks.projects import answer_spec
from tasks.quality import is_too_fast
from tasks.screening import screen_answer
from workers.models import Worker


@dataclass(frozen=True)
class SubmitResult:
    """The outcome of an answer: its canonical value, and whether it was paid or held."""

    assignment_id: int
    value: str
    seconds_taken: float
    paid: Money | None  # None while held for review
    flag_reason: str | None
    duplicate: bool  # True when this was a repeat of an answer already recorded
    correct: bool | None = None  # a gold task's verdict; None for a task without gold


def submit_answer(
    session: Session,
    worker: Worker,
    task_id: int,
    raw_answer: str,
    now: datetime,
    *,
    rules: QualityRules | None = None,
) -> SubmitResult:
    """Record a worker's answer to their reserved task; raises InvalidAnswer with a reason.

    Nothing is written before the answer is known valid, so a refusal needs no savepoint.
    """
    assignment, task, project = _reservation_of(session, worker.id, task_id)
    if assignment.status == AssignmentStatus.ANSWERED:
        return _result(session, assignment, duplicate=True)  # a resent answer: first one stands
    if assignment.status != AssignmentStatus.RESERVED:
        raise ReservationExpired(f"task {task_id} is no longer reserved for this worker")
    value = str(normalise_answer(answer_spec(project), raw_answer, lang=worker.language))
    seconds = max(0.0, (now - assignment.reserved_at).total_seconds())
    correct = is_correct(project.task_type, value, task.gold_answer) if task.is_gold else None
    # Marked paid with the move (the wage is posted below, in this transaction); an
    # answer held for review is unmarked by _hold: one UPDATE fewer on the usual path.
    values = dict(answer=value, answered_at=now, seconds_taken=seconds, correct=correct, paid=True)
    params = {f"new_{key}": v for key, v in values.items() if key != "paid"}
    moved = session.execute(
        _ANSWER, {"assignment_id": assignment.id, **params}, execution_options=counters.NO_SYNC
    )
    if matched_rows(moved) != 1:
        # A parallel submit of the same answer won the race; report its outcome.
        session.expire(assignment)
        return _result(session, assignment, duplicate=True)
    # The guarded UPDATE wrote these: the loaded row says so without reading it back.
    _loaded(assignment, status=AssignmentStatus.ANSWERED, **values)
    if correct is not None:
        _record_gold(session, worker.id, project.id, correct)
    too_fast = is_too_fast(seconds, project.min_seconds_per_answer)
    flag = screen_answer(
        session, worker, project, too_fast=too_fast, now=now, rules=rules or QualityRules()
    )
    if flag is not None:
        _hold(session, assignment.id, task, flag)
        held = dict(flagged=True, flag_reason=flag, review_status=ReviewStatus.PENDING)
        _loaded(assignment, paid=False, **held)
    else:
        # The slot becomes an answer and the promised reward is paid (one statement),
        # the wage posted; the move above marked the answer paid.
        counters.end_reservation(session, task.id, project.id, paid=True)
        _credit(session, assignment.id, worker.id, project)
        if not task.is_gold:
            aggregate_task(session, task.id, now, locked=task)
    return _outcome(assignment, project, duplicate=False)


def _reservation_of(
    session: Session, worker_id: int, task_id: int
) -> tuple[Assignment, Task, Project]:
    """The worker's assignment of the task with its task and project, in one query."""
    row = session.execute(_RESERVATION, {"task_id": task_id, "worker_id": worker_id}).first()
    if row is None:
        raise NoReservation(f"task {task_id} is not reserved for this worker")
    return row[0], row[1], row[2]


#: Built once, bound at execute time: building an ORM statement costs more CPU than
#: the database spends running it.
_RESERVATION = (
    select(Assignment, Task, Project)
    .join(Task, Task.id == Assignment.task_id)
    .join(Project, Project.id == Task.project_id)
    .where(
        Assignment.task_id == bindparam("task_id"), Assignment.worker_id == bindparam("worker_id")
    )
)


#: The guarded move of a reserved assignment to answered (``counters.move_assignment``,
#: built once for the hot path): no row matches when a parallel submit won.
_ANSWER = (
    update(Assignment)
    .where(
        Assignment.id == bindparam("assignment_id"),
        Assignment.status == AssignmentStatus.RESERVED,
    )
    .values(
        status=AssignmentStatus.ANSWERED,
        answer=bindparam("new_answer"),
        answered_at=bindparam("new_answered_at"),
        seconds_taken=bindparam("new_seconds_taken"),
        correct=bindparam("new_correct"),
        paid=True,
    )
)


def _loaded(row: Assignment, **values: Any) -> None:
    """Record on the loaded row what an UPDATE without synchronisation just wrote."""
    for key, value in values.items():
        set_committed_value(row, key, value)


def is_correct(task_type: TaskType, value: str, gold: str | None) -> bool:
    """Whether a canonical answer matches a gold answer (numbers compared as numbers)."""
    if gold is None:
        return False
    if task_type is TaskType.NUMBER:
        try:
            return math.isclose(float(value), float(gold))
        except ValueError:
            return False
    return normalise_text(value) == normalise_text(gold)


def _record_gold(
    session: Session, worker_id: int, project_id: int, correct: bool
) -> tuple[int, int]:
    """Count a gold answer in the worker's record on the project; returns (answered, correct)."""
    key = {"worker_id": worker_id, "project_id": project_id}
    if session.get(WorkerProjectStats, (worker_id, project_id)) is None:
        try:
            with session.begin_nested():
                session.add(WorkerProjectStats(**key, gold_answered=0, gold_correct=0))
        except IntegrityError:
            pass  # created by this worker's parallel answer; count on that row
    stmt = (
        update(WorkerProjectStats)
        .where(
            WorkerProjectStats.worker_id == worker_id, WorkerProjectStats.project_id == project_id
        )
        .values(
            gold_answered=WorkerProjectStats.gold_answered + 1,
            gold_correct=WorkerProjectStats.gold_correct + int(correct),
        )
    )
    session.execute(stmt, execution_options=counters.NO_SYNC)
    row = session.get_one(WorkerProjectStats, (worker_id, project_id))
    session.refresh(row)
    return row.gold_answered, row.gold_correct


def _hold(session: Session, assignment_id: int, task: Task, flag: str) -> None:
    # A held answer frees its task slot (another worker may answer) but keeps its
    # reward promised in the budget until an operator accepts or rejects it.
    session.execute(
        update(Assignment)
        .where(Assignment.id == assignment_id)
        .values(flagged=True, flag_reason=flag, review_status=ReviewStatus.PENDING, paid=False),
        execution_options=counters.NO_SYNC,
    )
    counters.release_task_slot(session, task.id, answered=False)


def pay_answer(session: Session, assignment_id: int, worker_id: int, project: Project) -> Money:
    """Pay one answer accepted after review from the project's budget into the worker's wallet."""
    counters.settle_budget(session, project.id, paid=True)
    reward = _credit(session, assignment_id, worker_id, project)
    session.execute(
        update(Assignment).where(Assignment.id == assignment_id).values(paid=True),
        execution_options=counters.NO_SYNC,
    )
    return reward


def _credit(session: Session, assignment_id: int, worker_id: int, project: Project) -> Money:
    reward = Money(project.reward_minor, project.currency)
    credit_wage(
        session,
        worker_id=worker_id,
        project_id=project.id,
        amount=reward,
        reference=f"wage:assignment:{assignment_id}",
    )
    return reward


def _result(session: Session, assignment: Assignment, *, duplicate: bool) -> SubmitResult:
    session.refresh(assignment)
    task = session.get_one(Task, assignment.task_id)
    project = session.get_one(Project, task.project_id)
    return _outcome(assignment, project, duplicate=duplicate)


def _outcome(assignment: Assignment, project: Project, *, duplicate: bool) -> SubmitResult:
    return SubmitResult(
        assignment_id=assignment.id,
        value=assignment.answer or "",
        seconds_taken=assignment.seconds_taken or 0.0,
        paid=Money(project.reward_minor, project.currency) if assignment.paid else None,
        flag_reason=assignment.flag_reason,
        duplicate=duplicate,
        correct=assignment.correct,
    )
