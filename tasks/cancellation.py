"""A requester cancels a task: it is never served again, and its share of the budget goes back.

Decisions (docs/requester-guide.md says the same):

- A task is cancelled only while no answer to it is in flight: a worker holding a
  reservation may be typing their answer, and an answer held for review may still be
  accepted and paid. Either is a 409 naming when to try again (a reservation lasts the
  project's ``reservation_minutes``); nothing is taken from a worker mid-task.
- A complete task cannot be cancelled (its answers are paid and its result stands); a
  cancelled one again is a no-op, as a retrying client expects.
- What goes back to the requester's funding is the wages the task would still have
  cost, ``(wanted_answers - answers_count) x reward``, bounded by the project's free
  budget (neither paid nor promised), through ``tasks.funding.release_budget`` (a
  ``budget_return`` ledger transfer). A gold task has no fixed number of answers: its
  cancel releases nothing.

Lock order is the task, then the project (``tasks.counters``), the same as a reservation,
so a cancel and a worker's reservation of the same task never deadlock, and a
reservation that picked the task before the cancel finds no slot after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from core.db import lock_existing, lock_row
from core.errors import Conflict, NotFound
from core.money import Money
from tasks.funding import release_budget
from tasks.models import (
    Assignment,
    AssignmentStatus,
    Project,
    ReviewStatus,
    Task,
    TaskStatus,
)
from tasks.progress import complete_if_finished


@dataclass(frozen=True)
class Cancelled:
    """A cancelled task and the budget its cancel gave back to the funding (None: nothing)."""

    task: Task
    released: Money | None


def cancel_task(session: Session, project: Project, task_id: int, now: datetime) -> Cancelled:
    """Cancel one of the project's tasks (409 while an answer to it is in flight)."""
    task = lock_row(session, Task, task_id)
    if task is None or task.project_id != project.id:
        raise NotFound(f"no task {task_id} in project {project.id}")
    if task.status == TaskStatus.CANCELLED:
        return Cancelled(task, None)
    if task.status == TaskStatus.COMPLETE:
        raise Conflict(f"task {task_id} is complete; its answers are paid")
    if _in_flight(session, task.id):
        raise Conflict(
            f"a worker is answering task {task_id} (or its answer awaits review); "
            f"try again in {project.reservation_minutes} minutes",
            details=[{"retry_after_minutes": project.reservation_minutes}],
        )
    task.status = TaskStatus.CANCELLED
    session.flush()
    locked = lock_existing(session, Project, project.id)
    share = 0 if task.is_gold else max(0, task.wanted_answers - task.answers_count)
    released = release_budget(session, locked, share * locked.reward_minor)
    if not task.is_gold:
        complete_if_finished(session, locked, now)  # it may have been the last open task
    return Cancelled(task, released)


def _in_flight(session: Session, task_id: int) -> bool:
    held = or_(
        Assignment.status == AssignmentStatus.RESERVED,
        Assignment.review_status == ReviewStatus.PENDING,
    )
    stmt = select(exists().where(Assignment.task_id == task_id, held))
    return bool(session.scalar(stmt))
