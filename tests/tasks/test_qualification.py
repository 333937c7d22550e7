"""The qualification quiz: a random draw from the gold pool, retakes, pass marks, no reuse."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from core.db import utcnow
from core.kvstore import MemoryStore
from tasks import qualification as quiz
from tasks.assignment import get_next_task
from tasks.models import Project, Task
from tasks.submission import submit_answer
from tests.tasks import factories
from workers.models import Worker

GOLD = {f"Gold {i}": "ABC"[i % 3] for i in range(12)}


def _take(
    session: Session, store: MemoryStore, worker: Worker, project: Project, right: int, seed: int
) -> tuple[list[int], str]:
    """Answer one whole quiz, the first ``right`` questions rightly; (asked ids, outcome)."""
    asked: list[int] = []
    rng = random.Random(seed)
    while (step := quiz.next_question(session, store, worker, utcnow(), rng=rng))["task"]:
        task = session.get_one(Task, step["task"]["task_id"])
        key = "ABC".index(task.gold_answer or "A")
        if len(asked) >= right:
            key = (key + 1) % 3
        quiz.answer_question(session, store, worker, task.id, str(key + 1))
        asked.append(task.id)
    return asked, step["reason"]


def test_too_small_a_pool_does_not_qualify_anyone(session: Session) -> None:
    factories.project(session, gold={"g1": "A", "g2": "B"}, texts=["t"])
    worker = factories.worker(session)
    step = quiz.next_question(session, MemoryStore(), worker, utcnow())
    assert step == {"task": None, "reason": "none_available"}
    assert worker.qualified_at is None


@pytest.mark.parametrize(
    ("pass_mark", "right", "outcome"), [(0.8, 4, "passed"), (0.8, 3, "failed"), (0.6, 3, "passed")]
)
def test_the_pass_mark_is_the_projects(
    session: Session, pass_mark: float, right: int, outcome: str
) -> None:
    project = factories.project(session, gold=GOLD, texts=["t"], quiz_pass_mark=pass_mark)
    worker = factories.worker(session)
    asked, result = _take(session, MemoryStore(), worker, project, right, seed=1)
    assert len(asked) == quiz.QUIZ_SIZE and result == outcome
    assert (worker.qualified_at is not None) is (outcome == "passed")


def test_a_retake_asks_other_questions_and_quiz_items_are_never_paid_work(
    session: Session,
) -> None:
    project = factories.project(session, gold=GOLD, texts=["t"], gold_rate=1.0)
    worker = factories.worker(session)
    store = MemoryStore()
    first, result = _take(session, store, worker, project, 0, seed=2)
    assert result == "failed"
    store.delete(f"flows:quiz-failed:{worker.id}")  # the retry wait is over
    second, result = _take(session, store, worker, project, 5, seed=2)
    assert result == "passed" and not set(first) & set(second)
    served: list[int] = []
    now = utcnow()
    while (view := get_next_task(session, worker, now)) is not None and len(served) < 20:
        served.append(view.task_id)
        submit_answer(session, worker, view.task_id, "1", now + timedelta(seconds=5))
    assert not set(served) & set(first + second)


def test_the_draw_is_random_over_the_pool(session: Session) -> None:
    factories.project(session, gold=GOLD, texts=["t"])
    worker = factories.worker(session)
    draws = [quiz.draw(session, worker, random.Random(seed)) for seed in range(10)]
    assert all(d is not None and len(set(d[0])) == quiz.QUIZ_SIZE for d in draws)
    assert len({frozenset(d[0]) for d in draws if d is not None}) > 1
