"""The operator review queue: answers held as too fast or from below-chance workers.

Accepting pays the answer and counts it in its task's aggregation; rejecting gives
the promised reward back to the project's budget (or, once the project closed, to
the requester's funding). A decision is made once: the
guarded update refuses a second decision on the same answer.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.db import matched_rows
from core.errors import Conflict, NotFound
from tasks import counters
from tasks.detection import HOLD_UNPROVEN
from tasks.funding import return_if_closed
from tasks.models import Assignment, Project, ReviewStatus, Task
from tasks.progress import aggregate_task
from tasks.submission import pay_answer


def flagged_answers(session: Session, *, limit: int = 50, after_id: int = 0) -> list[Assignment]:
    """Answers waiting for review, oldest first, ``limit`` at a time after ``after_id``."""
    stmt = (
        select(Assignment)
        .where(Assignment.review_status == ReviewStatus.PENDING, Assignment.id > after_id)
        .order_by(Assignment.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def release_unproven(session: Session, worker_id: int, now: datetime) -> list[int]:
    """Accept every answer held as "unproven" for a worker whose gold has since proven them."""
    stmt = (
        select(Assignment.id)
        .where(
            Assignment.worker_id == worker_id,
            Assignment.review_status == ReviewStatus.PENDING,
            Assignment.flag_reason == HOLD_UNPROVEN,
        )
        .order_by(Assignment.id)
    )
    ids = list(session.scalars(stmt))
    for assignment_id in ids:
        review_answer(session, assignment_id, accept=True, now=now)
    return ids


def review_answer(
    session: Session, assignment_id: int, *, accept: bool, now: datetime
) -> Assignment:
    """Accept (pay and count) or reject (release the money of) one held answer."""
    assignment = session.get(Assignment, assignment_id)
    if assignment is None:
        raise NotFound(f"no answer {assignment_id}")
    decision = ReviewStatus.ACCEPTED if accept else ReviewStatus.REJECTED
    moved = session.execute(
        update(Assignment)
        .where(Assignment.id == assignment_id, Assignment.review_status == ReviewStatus.PENDING)
        .values(review_status=decision),
        execution_options=counters.NO_SYNC,
    )
    if matched_rows(moved) != 1:
        raise Conflict(f"answer {assignment_id} is not waiting for review")
    task = session.get_one(Task, assignment.task_id)
    project = session.get_one(Project, task.project_id)
    if accept:
        counters.add_counted_answer(session, task.id)
        pay_answer(session, assignment.id, assignment.worker_id, project)
        if not task.is_gold:
            aggregate_task(session, task.id, now)
    else:
        counters.settle_budget(session, project.id, paid=False)
        return_if_closed(session, project.id)
    session.refresh(assignment)
    return assignment
