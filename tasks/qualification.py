"""Qualification: the quiz of a few gold tasks a new worker answers before real work.

Decision (the issue leaves it open): the quiz asks up to ``QUIZ_SIZE`` gold tasks of
active projects open to the worker (their language and country), one at a time, in
task-id order. It passes when at least ``QUIZ_PASS`` of ``QUIZ_SIZE`` are right, scaled
down when fewer gold tasks exist (two thirds, rounded up); with no gold task at all
there is nothing to test with, so the worker passes. A failed quiz may be retaken
after ``RETRY_AFTER``. Quiz answers are not assignments: they pay nothing and take no
task slot or budget; the progress lives in the shared store, so any web process (and
a redial after a drop) continues the same quiz.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kvstore import KeyValueStore
from tasks.answers import normalise_answer
from tasks.errors import InvalidAnswer
from tasks.models import Project, ProjectStatus, Task, TaskType
from tasks.projects import answer_spec
from tasks.submission import is_correct
from workers import services as workers
from workers.models import Worker

QUIZ_SIZE = 3
QUIZ_PASS = 2
#: How long a started quiz is remembered, and how long a failed one blocks a retake.
PROGRESS_TTL = timedelta(days=1)
RETRY_AFTER = timedelta(days=1)


@dataclass
class QuizProgress:
    """Which gold tasks were asked, how many were right, and the one on screen."""

    asked: list[int] = field(default_factory=list)
    correct: int = 0
    current: int | None = None


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
    session: Session, store: KeyValueStore, worker: Worker, now: datetime
) -> dict[str, Any]:
    """A ``get_task`` result for the quiz: the next gold task, or passed/failed."""
    if workers.is_qualified(worker):
        return {"task": None, "reason": "passed"}
    if store.get(_failed_key(worker.id)):
        return {"task": None, "reason": "failed"}
    progress = load_progress(store, worker.id)
    task_id = progress.current
    if task_id is None and len(progress.asked) < QUIZ_SIZE:
        task_id = _next_gold(session, worker, progress.asked)
    if task_id is None:
        return {"task": None, "reason": _finish(store, worker, progress, now)}
    progress.current = task_id
    _save(store, worker.id, progress)
    task = session.get_one(Task, task_id)
    return {"task": question_view(task, session.get_one(Project, task.project_id))}


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


def _next_gold(session: Session, worker: Worker, asked: list[int]) -> int | None:
    stmt = (
        select(Task.id, Project.languages, Project.countries)
        .join(Project, Project.id == Task.project_id)
        .where(Project.status == ProjectStatus.ACTIVE, Task.is_gold.is_(True))
        .order_by(Task.id)
        .limit(200)
    )
    for task_id, languages, countries in session.execute(stmt):
        if task_id in asked:
            continue
        if (not languages or worker.language in languages) and (
            not countries or worker.country in countries
        ):
            return task_id
    return None


def _finish(store: KeyValueStore, worker: Worker, progress: QuizProgress, now: datetime) -> str:
    needed = math.ceil(len(progress.asked) * QUIZ_PASS / QUIZ_SIZE)
    store.delete(_key(worker.id))
    if progress.correct >= needed:
        workers.mark_qualified(worker, now)
        return "passed"
    store.set(_failed_key(worker.id), b"1", ttl_seconds=RETRY_AFTER.total_seconds())
    return "failed"
