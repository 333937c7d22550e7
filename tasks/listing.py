"""A project's tasks as the requester uploaded them, with their status, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tasks.models import Project, Task, TaskStatus


@dataclass(frozen=True)
class TaskPage:
    """Rows in id order and the id of the last row when more may follow (else None)."""

    rows: list[dict[str, Any]]
    last_key: int | None


def task_row(task: Task) -> dict[str, Any]:
    """One task as the API shows it."""
    return {
        "id": task.id,
        "external_id": task.external_id,
        "text": task.text,
        "status": str(task.status),
        "gold": task.is_gold,
        "answers": task.answers_count,
        "wanted_answers": task.wanted_answers,
        "in_progress": task.reserved_count,
        "created_at": task.created_at.isoformat(),
        "completed_at": task.completed_at.isoformat() if task.completed_at else None,
    }


def list_tasks(
    session: Session,
    project: Project,
    *,
    after: int,
    limit: int,
    status: TaskStatus | None = None,
) -> TaskPage:
    """The project's tasks with id above ``after``, at most ``limit``, optionally of one status."""
    stmt = select(Task).where(Task.project_id == project.id, Task.id > after)
    if status is not None:
        stmt = stmt.where(Task.status == status)
    tasks = list(session.scalars(stmt.order_by(Task.id).limit(limit + 1)))
    more = len(tasks) > limit
    tasks = tasks[:limit]
    return TaskPage([task_row(t) for t in tasks], tasks[-1].id if more else None)
