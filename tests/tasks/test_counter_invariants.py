"""Property test: whatever workers do, the counters agree with the rows and with the ledger.

Random sequences of asks, answers (fast or slow), skips, expiries and reviews run
against a real SQLite database; after each sequence every guarded counter
(task slots, the project's promised and paid money) must equal what the
assignment rows and the ledger say.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.money import Money
from ledger import services as ledger
from tasks.assignment import expire_due, get_next_task, skip_task
from tasks.errors import ReservationExpired
from tasks.models import Assignment, AssignmentStatus, Project, ReviewStatus, Task
from tasks.review import flagged_answers, review_answer
from tasks.submission import submit_answer
from tests.tasks import factories

OPS = st.lists(
    st.tuples(
        st.sampled_from(["ask", "answer", "fast", "skip", "expire", "accept", "reject"]),
        st.integers(0, 3),
        st.sampled_from(["1", "2", "3"]),
    ),
    max_size=40,
)


@pytest.mark.parametrize("db_kind", ["sqlite"])
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=OPS)
def test_counters_match_rows_and_ledger(session: Session, ops: list[tuple[str, int, str]]) -> None:
    nested = session.begin_nested()
    try:
        _play(session, ops)
    finally:
        nested.rollback()


def _play(session: Session, ops: list[tuple[str, int, str]]) -> None:
    project = factories.project(
        session,
        texts=["t1", "t2", "t3"],
        gold={"g1": "A"},
        answers_per_task=2,
        max_answers=3,
        target_confidence=0.9,
        gold_rate=0.3,
        min_seconds_per_answer=5,
        budget=Money(700, "KES"),
    )
    workers = [factories.worker(session) for _ in range(4)]
    now = utcnow()
    held: dict[int, int] = {}
    for op, w, raw in ops:
        worker = workers[w]
        if op == "ask":
            view = get_next_task(session, worker, now)
            if view is not None:
                held[w] = view.task_id
        elif op in ("answer", "fast") and w in held:
            seconds = 1 if op == "fast" else 10
            with contextlib.suppress(ReservationExpired):  # expired meanwhile: a fair refusal
                submit_answer(session, worker, held.pop(w), raw, now + timedelta(seconds=seconds))
        elif op == "skip" and w in held:
            skip_task(session, worker, held.pop(w), now)
        elif op == "expire":
            now += timedelta(minutes=15)
            expire_due(session, now)
        elif op in ("accept", "reject"):
            pending = flagged_answers(session, limit=1)
            if pending:
                review_answer(session, pending[0].id, accept=op == "accept", now=now)
    _check(session, project)


def _count(session: Session, *where: ColumnElement[bool]) -> int:
    return session.scalar(select(func.count()).select_from(Assignment).where(*where)) or 0


def _check(session: Session, project: Project) -> None:
    session.expire_all()
    counted = Assignment.review_status.is_(None) | (
        Assignment.review_status == ReviewStatus.ACCEPTED
    )
    for task in session.scalars(select(Task).where(Task.project_id == project.id)):
        reserved = _count(
            session, Assignment.task_id == task.id, Assignment.status == AssignmentStatus.RESERVED
        )
        answered = _count(
            session,
            Assignment.task_id == task.id,
            Assignment.status == AssignmentStatus.ANSWERED,
            counted,
        )
        assert (task.reserved_count, task.answers_count) == (reserved, answered)
        if not task.is_gold:
            assert answered + reserved <= task.wanted_answers <= project.max_answers
    project = session.get_one(Project, project.id)
    in_project = Assignment.task_id.in_(select(Task.id).where(Task.project_id == project.id))
    reserved = _count(session, in_project, Assignment.status == AssignmentStatus.RESERVED)
    pending = _count(session, in_project, Assignment.review_status == ReviewStatus.PENDING)
    paid = _count(session, in_project, Assignment.paid.is_(True))
    assert project.reserved_count == reserved + pending
    assert project.paid_minor == paid * project.reward_minor
    assert (
        project.paid_minor + project.reserved_count * project.reward_minor <= project.budget_minor
    )
    balance = ledger.balance(session, ledger.project_budget(session, project.id, "KES")).amount
    assert balance == project.budget_minor - project.paid_minor
