"""Whether a worker may be given a paid task now, and if not, why: their standing, the
held-answer cap, the daily cap, or work waiting only in languages they lack.

``tasks.assignment`` asks these before it picks; the intent host asks them again, only
after a pick found nothing, to tell the worker why.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from core.localtime import local_midnight, zone_of_country
from tasks.detection import QualityRules
from tasks.models import Assignment, AssignmentStatus, Project, ProjectStatus, Task, TaskStatus
from tasks.screening import held_count
from workers import services as workers
from workers.models import Worker

#: Projects looked at per pick; projects are few next to tasks.
MAX_CANDIDATE_PROJECTS = 50


def unavailable_reason(
    session: Session,
    worker: Worker,
    rules: QualityRules,
    *,
    now: datetime | None = None,
    daily_cap: int = 0,
) -> str | None:
    """Why a worker gets no paid task at all ("suspended", "blocked", "held", "daily_cap"),
    or None when they may."""
    standing = standing_reason(worker)
    if standing is not None:
        return standing
    # The held cap: answers waiting for review freeze budget and prove nothing yet, so
    # a worker with many of them gets no more until an operator has looked.
    if held_count(session, worker.id) >= rules.max_held:
        return "held"
    if daily_cap > 0 and now is not None and answered_today(session, worker, now) >= daily_cap:
        return "daily_cap"
    return None


def answered_today(session: Session, worker: Worker, now: datetime) -> int:
    """Answers the worker gave since their local midnight (the daily cap resets there)."""
    since = local_midnight(zone_of_country(worker.country), now)
    stmt = select(func.count(Assignment.id)).where(
        Assignment.worker_id == worker.id,
        Assignment.status == AssignmentStatus.ANSWERED,
        Assignment.answered_at >= since,
    )
    return int(session.scalar(stmt) or 0)


def waiting_in_other_languages(
    session: Session, worker: Worker, currencies: Collection[str] | None = None
) -> bool:
    """True when open work this worker could otherwise take is in languages they lack."""
    languages = workers.task_languages(worker)
    stmt = (
        select(Project)
        .where(Project.status == ProjectStatus.ACTIVE)
        .order_by(Project.priority.desc(), Project.id)
        .limit(MAX_CANDIDATE_PROJECTS)
    )
    for project in session.scalars(stmt):
        if project.countries and worker.country not in project.countries:
            continue
        if currencies is not None and project.currency not in currencies:
            continue
        open_tasks = select(Task.id).where(
            Task.project_id == project.id, Task.status == TaskStatus.OPEN, has_room()
        )
        if speaks_project(project, languages):
            open_tasks = open_tasks.where(
                Task.language.is_not(None), Task.language.not_in(languages)
            )
        if session.scalars(open_tasks.limit(1)).first() is not None:
            return True
    return False


def speaks_project(project: Project, languages: Collection[str]) -> bool:
    return not project.languages or any(code in project.languages for code in languages)


def standing_reason(worker: Worker) -> str | None:
    if workers.is_suspended(worker):
        return "suspended"
    if not workers.may_work(worker):
        return "blocked"
    return None


def has_room() -> ColumnElement[bool]:
    return Task.answers_count + Task.reserved_count < Task.wanted_answers
