"""Guarded counter updates on tasks and projects: the database, not Python, keeps the limits.

Every change is one conditional ``UPDATE``; a zero row count means the guard refused
(the task is full, the budget is spent, the state moved on). Lock order is always
assignment, then task, then project, so concurrent reservations, answers and
expiries never deadlock on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Update, case, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from core.db import matched_rows
from tasks.models import Assignment, AssignmentStatus, Project, ProjectStatus, Task, TaskStatus

_NO_SYNC = {"synchronize_session": False}


def _run(session: Session, stmt: Update) -> bool:
    return matched_rows(session.execute(stmt, execution_options=_NO_SYNC)) == 1


def reserve_task_slot(session: Session, task_id: int) -> bool:
    """Take one answer slot of a task, if it has one free (gold tasks always do).

    A task cancelled since it was picked as a candidate has no slot: the cancel holds
    the task's row, so this guard sees its status once the cancel commits.
    """
    room = Task.is_gold | (Task.answers_count + Task.reserved_count < Task.wanted_answers)
    live = Task.status != TaskStatus.CANCELLED
    stmt = (
        update(Task)
        .where(Task.id == task_id, live, room)
        .values(reserved_count=Task.reserved_count + 1)
    )
    return _run(session, stmt)


def reserve_budget(session: Session, project_id: int) -> bool:
    """Promise one reward out of an active project's budget, if what is left can pay it."""
    fits = (
        Project.paid_minor + (Project.reserved_count + 1) * Project.reward_minor
        <= Project.budget_minor
    )
    stmt = (
        update(Project)
        .where(Project.id == project_id, Project.status == ProjectStatus.ACTIVE, fits)
        .values(reserved_count=Project.reserved_count + 1)
    )
    return _run(session, stmt)


def move_assignment(
    session: Session, assignment_id: int, old: Any, new: AssignmentStatus, **values: Any
) -> bool:
    """Move an assignment from ``old`` to ``new`` status; False when another move won."""
    stmt = (
        update(Assignment)
        .where(Assignment.id == assignment_id, Assignment.status == old)
        .values(status=new, **values)
    )
    return _run(session, stmt)


def release_task_slot(session: Session, task_id: int, *, answered: bool) -> None:
    """Give back a reserved slot; an answer that counts keeps it as an answer.

    The task's row, if loaded, learns its counters and status as the UPDATE left them
    (RETURNING, under the row lock the UPDATE took), so nothing needs to read it again.
    """
    values: dict[str, Any] = {"reserved_count": Task.reserved_count - 1}
    if answered:
        values["answers_count"] = Task.answers_count + 1
    stmt = update(Task).where(Task.id == task_id).values(**values).returning(*_TASK_STATE)
    row = session.execute(stmt, execution_options=_NO_SYNC).one()
    loaded = session.identity_map.get(identity_key(Task, task_id))
    if loaded is not None:
        for column, value in zip(_TASK_STATE, row, strict=True):
            set_committed_value(loaded, column.key, value)


#: What a task's guarded updates hand back: its state under the row lock.
_TASK_STATE = (Task.status, Task.answers_count, Task.reserved_count, Task.wanted_answers)


def add_counted_answer(session: Session, task_id: int) -> None:
    """Count an answer accepted after review, widening the task's redundancy if it is full."""
    grown = Task.answers_count + Task.reserved_count + 1
    stmt = (
        update(Task)
        .where(Task.id == task_id)
        .values(
            answers_count=Task.answers_count + 1,
            wanted_answers=case((grown > Task.wanted_answers, grown), else_=Task.wanted_answers),
        )
    )
    session.execute(stmt, execution_options=_NO_SYNC)


def want_one_more(session: Session, task_id: int, max_answers: int) -> bool:
    """Raise an unsure task's redundancy by one once all the answers it wanted are in."""
    # Only counted answers: a slot still reserved will bring its answer, and the
    # decision is taken again then (extending early would overspend on easy tasks).
    stmt = (
        update(Task)
        .where(
            Task.id == task_id,
            Task.wanted_answers < max_answers,
            Task.answers_count >= Task.wanted_answers,
        )
        .values(wanted_answers=Task.wanted_answers + 1)
    )
    return _run(session, stmt)


def settle_budget(session: Session, project_id: int, *, paid: bool) -> None:
    """Turn one promised reward into a paid one, or give it back to the budget."""
    values: dict[str, Any] = {"reserved_count": Project.reserved_count - 1}
    if paid:
        values["paid_minor"] = Project.paid_minor + Project.reward_minor
    stmt = update(Project).where(Project.id == project_id).values(**values)
    session.execute(stmt, execution_options=_NO_SYNC)
