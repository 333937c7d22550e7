"""Qualification: the quiz of gold tasks a new worker answers before real work.

The quiz draws ``QUIZ_SIZE`` questions at random from a gold pool: the gold tasks,
of one task type, of the active projects open to the worker (their language and
country). The task type is that of the highest-priority such project with gold, and
that project's ``quiz_pass_mark`` (a share, 0.8 by default) sets how many must be
right. Every question asked is recorded as a ``quiz`` assignment, so it is never
asked again (a retake draws different questions) nor served to the worker as a
paid task. A pool with fewer than ``QUIZ_SIZE`` questions the worker has not seen
cannot test anyone: the worker is not qualified and hears that the quiz is not ready
yet. A failed quiz may be retaken after ``RETRY_AFTER``. Quiz answers pay nothing
and take no budget; the progress lives in the shared store, so any web process
(and a redial after a drop) continues the same quiz.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kvstore import KeyValueStore
from tasks.answers import normalise_answer
from tasks.errors import InvalidAnswer
from tasks.models import Assignment, AssignmentStatus, Project, ProjectStatus, Task, TaskType
from tasks.projects import answer_spec
from tasks.submission import is_correct
from workers import services as workers
from workers.models import Worker

QUIZ_SIZE = 5
#: Gold ids read from the pool per draw: plenty to sample from, bounded per hop.
POOL_LIMIT = 500
#: How long a started quiz is remembered, and how long a failed one blocks a retake.
PROGRESS_TTL = timedelta(days=1)
RETRY_AFTER = timedelta(days=1)


@dataclass
class QuizProgress:
    """Which gold tasks were asked, how many were right, and the one on screen."""

    asked: list[int] = field(default_factory=list)
    correct: int = 0
    current: int | None = None
    plan: list[int] = field(default_factory=list)  # the questions drawn, in order
    pass_mark: float = 0.8


def _key(worker_id: int) -> str:
    return f"flows:quiz:{worker_id}"


def _failed_key(worker_id: int) -> str:
    return f"flows:quiz-failed:{worker_id}"


def load_progress(store: KeyValueStore, worker_id: int) -> QuizProgress:
    """The worker's quiz so far (empty when none is under way)."""
    raw = store.get(_key(worker_id))
    return QuizProgress(**json.loads(raw)) if raw else QuizProgress()


def _save(store: KeyValueStore, worker_id: int, progress: QuizProgress) -> None:
    data = json.dumps(progress.__dict__).encode()
    store.set(_key(worker_id), data, ttl_seconds=PROGRESS_TTL.total_seconds())


def next_question(
    session: Session,
    store: KeyValueStore,
    worker: Worker,
    now: datetime,
    *,
    rng: random.Random | None = None,
) -> dict[str, Any]:
    """A ``get_task`` result for the quiz: the next gold task, or passed/failed/none."""
    if workers.is_qualified(worker):
        return {"task": None, "reason": "passed"}
    if store.get(_failed_key(worker.id)):
        return {"task": None, "reason": "failed"}
    progress = load_progress(store, worker.id)
    if not progress.plan:
        drawn = draw(session, worker, rng or random.Random())
        if drawn is None:
            return {"task": None, "reason": "none_available"}
        progress.plan, progress.pass_mark = drawn
    task_id = progress.current
    if task_id is None:
        left = [t for t in progress.plan if t not in progress.asked]
        if not left:
            return {"task": None, "reason": _finish(store, worker, progress, now)}
        task_id = left[0]
        _mark_asked(session, worker.id, task_id, now)
    progress.current = task_id
    _save(store, worker.id, progress)
    task = session.get_one(Task, task_id)
    return {"task": question_view(task, session.get_one(Project, task.project_id))}


def draw(session: Session, worker: Worker, rng: random.Random) -> tuple[list[int], float] | None:
    """Questions drawn at random from the worker's gold pool, and the pass mark; None if too few."""
    projects = [p for p in _open_projects(session, worker) if _has_gold(session, p.id)]
    if not projects:
        return None
    lead = projects[0]  # the highest-priority project: its type and pass mark
    ids = [p.id for p in projects if p.task_type is lead.task_type]
    seen = select(Assignment.task_id).where(Assignment.worker_id == worker.id)
    pool = list(
        session.scalars(
            select(Task.id)
            .where(Task.project_id.in_(ids), Task.is_gold.is_(True), Task.id.not_in(seen))
            .order_by(Task.id)
            .limit(POOL_LIMIT)
        )
    )
    if len(pool) < QUIZ_SIZE:
        return None
    return rng.sample(pool, QUIZ_SIZE), lead.quiz_pass_mark


def _open_projects(session: Session, worker: Worker) -> list[Project]:
    stmt = (
        select(Project)
        .where(Project.status == ProjectStatus.ACTIVE)
        .order_by(Project.priority.desc(), Project.id)
        .limit(200)
    )
    return [
        p
        for p in session.scalars(stmt)
        if (not p.languages or worker.language in p.languages)
        and (not p.countries or worker.country in p.countries)
    ]


def _has_gold(session: Session, project_id: int) -> bool:
    found = session.scalar(
        select(Task.id).where(Task.project_id == project_id, Task.is_gold.is_(True)).limit(1)
    )
    return found is not None


def _mark_asked(session: Session, worker_id: int, task_id: int, now: datetime) -> None:
    # The (task, worker) row keeps the question out of every later quiz and out of paid
    # work; it holds no slot, no budget and no pay.
    exists = session.scalar(
        select(Assignment.id).where(
            Assignment.task_id == task_id, Assignment.worker_id == worker_id
        )
    )
    if exists is None:
        session.add(
            Assignment(
                task_id=task_id,
                worker_id=worker_id,
                status=AssignmentStatus.QUIZ,
                reserved_at=now,
                expires_at=now,
                flagged=False,
                paid=False,
            )
        )
        session.flush()


def question_view(task: Task, project: Project) -> dict[str, Any]:
    """A task as the engine shows it: id, text (with the instructions), type, options."""
    options = list(project.options) if project.task_type is TaskType.SINGLE_CHOICE else []
    text = f"{project.instructions}\n{task.text}" if project.instructions else task.text
    return {
        "task_id": task.id,
        "text": text,
        "task_type": str(project.task_type),
        "options": options,
    }


def answer_question(
    session: Session, store: KeyValueStore, worker: Worker, task_id: int, raw: str
) -> dict[str, Any]:
    """Score one quiz answer; a stale or repeated answer is ignored, not counted twice."""
    progress = load_progress(store, worker.id)
    if progress.current != task_id:
        return {"ok": True, "reward": None}  # a resent answer: the next fetch moves on
    task = session.get_one(Task, task_id)
    project = session.get_one(Project, task.project_id)
    try:
        value = str(normalise_answer(answer_spec(project), raw, lang=worker.language))
        right = is_correct(project.task_type, value, task.gold_answer)
    except InvalidAnswer:
        right = False  # the engine already checked the form; what slips through is wrong
    progress.asked.append(task_id)
    progress.correct += int(right)
    progress.current = None
    _save(store, worker.id, progress)
    return {"ok": True, "reward": None}


def _finish(store: KeyValueStore, worker: Worker, progress: QuizProgress, now: datetime) -> str:
    # A little below the exact product so that 0.8 of 5 needs 4, not 5 by rounding.
    needed = math.ceil(len(progress.asked) * progress.pass_mark - 1e-9)
    store.delete(_key(worker.id))
    if progress.correct >= needed:
        workers.mark_qualified(worker, now)
        return "passed"
    store.set(_failed_key(worker.id), b"1", ttl_seconds=RETRY_AFTER.total_seconds())
    return "failed"
