"""Guarded counter updates on tasks and projects: the database, not Python, keeps the limits.

Every change is one conditional ``UPDATE``; a zero row count means the guard refused
(the task is full, the budget is spent, the state moved on). Lock order is always
assignment, then task, then project, so concurrent reservations, answers and
expiries never deadlock on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Update, case, text, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from core.db import matched_rows, utcnow
from tasks.models import Assignment, AssignmentStatus, Project, ProjectStatus, Task, TaskStatus

#: Execution options of an UPDATE whose rows the caller sets on its loaded objects itself.
NO_SYNC = {"synchronize_session": False}


def _run(session: Session, stmt: Update) -> bool:
    return matched_rows(session.execute(stmt, execution_options=NO_SYNC)) == 1


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
    row = session.execute(stmt, execution_options=NO_SYNC).one()
    _learn_task_state(session, task_id, row)


def _learn_task_state(session: Session, task_id: int, row: Sequence[Any]) -> None:
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
    session.execute(stmt, execution_options=NO_SYNC)


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


#: ``end_reservation`` in one round trip on PostgreSQL: the task's row first, then the
#: project's (the module's lock order; the project's UPDATE waits on the task's result).
_END_RESERVATION_SQL = text(
    """
WITH slot AS (
    UPDATE tasks SET reserved_count = reserved_count - 1,
                     answers_count = answers_count + CASE WHEN :counted THEN 1 ELSE 0 END
    WHERE id = :task_id
    RETURNING status, answers_count, reserved_count, wanted_answers
),
budget AS (
    UPDATE projects SET reserved_count = reserved_count - 1,
                        paid_minor = paid_minor + CASE WHEN :counted THEN reward_minor ELSE 0 END,
                        updated_at = :now
    WHERE id = :project_id AND EXISTS (SELECT 1 FROM slot)
)
SELECT status, answers_count, reserved_count, wanted_answers FROM slot
"""
)


def end_reservation(session: Session, task_id: int, project_id: int, *, paid: bool) -> None:
    """A reservation ends: its task slot is given back (kept as an answer when ``paid``)
    and its promised reward is paid from the budget (``paid``) or returned to it.

    The two updates of ``release_task_slot`` and ``settle_budget``, in one statement on
    PostgreSQL (https://www.postgresql.org/docs/current/queries-with.html#QUERIES-WITH-MODIFYING);
    SQLite has no data-modifying CTEs and runs them one by one.
    """
    if session.get_bind().dialect.name != "postgresql":
        release_task_slot(session, task_id, answered=paid)
        settle_budget(session, project_id, paid=paid)
        return
    params = {"task_id": task_id, "project_id": project_id, "counted": paid, "now": utcnow()}
    status, *counts = session.execute(_END_RESERVATION_SQL, params).one()
    _learn_task_state(session, task_id, (TaskStatus(status), *counts))


def settle_budget(session: Session, project_id: int, *, paid: bool) -> None:
    """Turn one promised reward into a paid one, or give it back to the budget."""
    values: dict[str, Any] = {"reserved_count": Project.reserved_count - 1}
    if paid:
        values["paid_minor"] = Project.paid_minor + Project.reward_minor
    stmt = update(Project).where(Project.id == project_id).values(**values)
    session.execute(stmt, execution_options=NO_SYNC)
