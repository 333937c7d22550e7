"""Assignment and answers through the services, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.money import Money
from ledger import services as ledger
from tasks.assignment import expire_due, get_next_task, skip_task
from tasks.errors import AnswerReason, InvalidAnswer, NoReservation, ReservationExpired
from tasks.models import Assignment, AssignmentStatus, Task, TaskStatus
from tasks.submission import submit_answer
from tests.tasks import factories
from workers.models import WorkerStatus


def test_next_task_reserves_and_resumes_the_same_task(session: Session) -> None:
    project = factories.project(session, texts=["t1", "t2"])
    worker = factories.worker(session)
    now = utcnow()
    first = get_next_task(session, worker, now)
    assert first is not None and first.text == "t1" and not first.resumed
    assert first.menu == "1 A\n2 B\n3 C\n0 Skip"
    again = get_next_task(session, worker, now + timedelta(minutes=1))
    assert again is not None and again.task_id == first.task_id and again.resumed
    session.refresh(project)
    assert project.reserved_count == 1


def test_answer_pays_the_wage_and_counts_once(session: Session) -> None:
    project = factories.project(session, texts=["t1"])
    worker = factories.worker(session)
    now = utcnow()
    view = get_next_task(session, worker, now)
    assert view is not None
    result = submit_answer(session, worker, view.task_id, "2", now + timedelta(seconds=12))
    assert (result.value, result.seconds_taken, result.paid) == ("B", 12.0, Money(100, "KES"))
    again = submit_answer(session, worker, view.task_id, "3", now + timedelta(seconds=20))
    assert again.duplicate and again.value == "B"
    wallet = ledger.worker_wallet(session, worker.id, "KES")
    assert ledger.balance(session, wallet) == Money(100, "KES")
    budget = ledger.project_budget(session, project.id, "KES")
    session.refresh(project)
    assert ledger.balance(session, budget).amount == project.budget_minor - project.paid_minor
    assert (project.paid_minor, project.reserved_count) == (100, 0)


def test_invalid_answer_keeps_the_reservation(session: Session) -> None:
    factories.project(session, texts=["t1"])
    worker = factories.worker(session)
    view = get_next_task(session, worker, utcnow())
    assert view is not None
    with pytest.raises(InvalidAnswer) as caught:
        submit_answer(session, worker, view.task_id, "7", utcnow())
    assert caught.value.reason is AnswerReason.NOT_AN_OPTION
    assert submit_answer(session, worker, view.task_id, "1", utcnow()).value == "A"


def test_never_beyond_redundancy_and_never_the_same_task_twice(session: Session) -> None:
    factories.project(session, texts=["t1"], answers_per_task=2, max_answers=2)
    workers = [factories.worker(session) for _ in range(3)]
    now = utcnow()
    served = [get_next_task(session, w, now) for w in workers]
    assert [v is not None for v in served] == [True, True, False]
    for w, v in zip(workers[:2], served[:2], strict=True):
        assert v is not None
        submit_answer(session, w, v.task_id, "1", now + timedelta(seconds=5))
    assert get_next_task(session, workers[0], now) is None
    task = session.scalars(select(Task)).one()
    session.refresh(task)
    assert (task.status, task.result) == (TaskStatus.COMPLETE, "A")
    assert task.confidence == pytest.approx(4 / 6)  # two agreeing newcomers, three options


def test_skip_releases_and_is_not_served_again(session: Session) -> None:
    factories.project(session, texts=["t1", "t2"], answers_per_task=1)
    worker, other = factories.worker(session), factories.worker(session)
    now = utcnow()
    view = get_next_task(session, worker, now)
    assert view is not None and skip_task(session, worker, view.task_id, now)
    nxt = get_next_task(session, worker, now)
    assert nxt is not None and nxt.text == "t2"
    assert (other_view := get_next_task(session, other, now)) is not None
    assert other_view.text == "t1"
    with pytest.raises(ReservationExpired):
        submit_answer(session, worker, view.task_id, "1", now)


def test_reservation_expires_and_frees_the_slot(session: Session) -> None:
    project = factories.project(session, texts=["t1"], answers_per_task=1, reservation_minutes=5)
    first, second = factories.worker(session), factories.worker(session)
    now = utcnow()
    assert get_next_task(session, first, now) is not None
    assert get_next_task(session, second, now + timedelta(minutes=4)) is None
    later = now + timedelta(minutes=6)
    view = get_next_task(session, second, later)  # lazily expires the first reservation
    assert view is not None
    held = session.scalars(select(Assignment).where(Assignment.worker_id == first.id)).one()
    session.refresh(held)
    assert held.status == AssignmentStatus.EXPIRED
    assert expire_due(session, later) == 0
    session.refresh(project)
    assert project.reserved_count == 1


def test_no_reservation_is_refused(session: Session) -> None:
    factories.project(session, texts=["t1"])
    worker = factories.worker(session)
    task = session.scalars(select(Task)).one()
    with pytest.raises(NoReservation):
        submit_answer(session, worker, task.id, "1", utcnow())


def test_eligibility_language_country_blocked(session: Session) -> None:
    factories.project(session, texts=["t1"], languages=["sw"], countries=["KE"])
    assert get_next_task(session, factories.worker(session, language="en"), utcnow()) is None
    assert (
        get_next_task(session, factories.worker(session, language="sw", country="UG"), utcnow())
        is None
    )
    blocked = factories.worker(session, language="sw", status=WorkerStatus.BLOCKED)
    assert get_next_task(session, blocked, utcnow()) is None
    assert get_next_task(session, factories.worker(session, language="sw"), utcnow()) is not None


def test_priority_orders_projects(session: Session) -> None:
    owner, _ = factories.requester(session)
    factories.project(session, owner, texts=["low"], priority=0)
    factories.project(session, owner, texts=["high"], priority=5)
    view = get_next_task(session, factories.worker(session), utcnow())
    assert view is not None and view.text == "high"


def test_no_task_when_budget_cannot_pay_reserved_answers(session: Session) -> None:
    factories.project(
        session, texts=["t1", "t2", "t3"], answers_per_task=1, budget=Money(200, "KES")
    )
    now = utcnow()
    got = [get_next_task(session, factories.worker(session), now) for _ in range(3)]
    assert [g is not None for g in got] == [True, True, False]
    slots = session.scalar(select(func.sum(Task.reserved_count)))
    assert slots == 2  # the refused claim gave its task slot back


def test_too_fast_answer_is_held_unpaid(session: Session) -> None:
    project = factories.project(session, texts=["t1"], min_seconds_per_answer=4.0)
    worker = factories.worker(session)
    now = utcnow()
    view = get_next_task(session, worker, now)
    assert view is not None
    result = submit_answer(session, worker, view.task_id, "1", now + timedelta(seconds=1))
    assert result.paid is None and result.flag_reason == "too_fast"
    session.refresh(project)
    assert (project.paid_minor, project.reserved_count) == (0, 1)  # promised, held for review


def test_gold_served_at_new_worker_rate_then_project_rate(session: Session) -> None:
    gold = {f"g{i}": "A" for i in range(60)}
    factories.project(
        session, texts=[f"t{i}" for i in range(300)], gold=gold, gold_rate=0.1, answers_per_task=1
    )
    rng = random.Random(7)
    is_gold = []
    now = utcnow()
    for _ in range(60):
        worker = factories.worker(session)
        view = get_next_task(session, worker, now, rng=rng)
        assert view is not None
        is_gold.append(view.text.startswith("g"))
    # Brand-new workers get gold at about the new-worker rate (0.5), not the project's 0.1.
    assert 0.3 <= sum(is_gold) / len(is_gold) <= 0.7


def test_veteran_gets_gold_at_about_the_project_rate(session: Session) -> None:
    gold = {f"g{i}": "A" for i in range(200)}
    project = factories.project(
        session, texts=[f"t{i}" for i in range(400)], gold=gold, gold_rate=0.2, answers_per_task=1
    )
    worker = factories.worker(session)
    rng = random.Random(3)
    now = utcnow()
    served_gold = []
    for _ in range(120):
        view = get_next_task(session, worker, now, rng=rng)
        assert view is not None
        served_gold.append(view.text.startswith("g"))
        submit_answer(session, worker, view.task_id, "1", now + timedelta(seconds=5))
    late = served_gold[40:]  # after probation (10 gold answers) the project's rate applies
    assert 0.1 <= sum(late) / len(late) <= 0.3
    session.refresh(project)
    assert project.paid_minor == 120 * 100


def test_worker_below_chance_on_gold_stops_receiving_the_project(session: Session) -> None:
    gold = {f"g{i}": "A" for i in range(40)}
    factories.project(
        session, texts=[f"t{i}" for i in range(40)], gold=gold, gold_rate=1.0, answers_per_task=1
    )
    worker = factories.worker(session)
    now = utcnow()
    flags = []
    for _ in range(40):
        view = get_next_task(session, worker, now)
        if view is None:
            break
        flags.append(
            submit_answer(
                session, worker, view.task_id, "2", now + timedelta(seconds=5)
            ).flag_reason
        )
    assert get_next_task(session, worker, now) is None
    # Held as unproven from the third gold answer, shut out at the sixth (QUALITY_MIN_GOLD).
    assert flags[:2] == [None, None] and set(flags[2:5]) == {"unproven"}
    assert flags[-1] == "chance" and len(flags) == 6


def test_worker_under_min_accuracy_stops_after_probation(session: Session) -> None:
    gold = {f"g{i:02d}": "A" for i in range(30)}
    factories.project(session, gold=gold, texts=["t"], gold_rate=1.0, min_accuracy=0.8)
    worker = factories.worker(session)
    now = utcnow()
    answered = 0
    while (view := get_next_task(session, worker, now)) is not None and answered < 30:
        # Right two times in three: clearly above chance (paid, never held), below 0.8.
        raw = "2" if answered % 3 == 0 else "1"
        result = submit_answer(session, worker, view.task_id, raw, now + timedelta(seconds=5))
        assert result.flag_reason is None
        answered += 1
    assert answered == 10  # served through probation (10 gold), then no more
