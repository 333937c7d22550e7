"""Review queue, results, fair-pay figures and worker earnings through the services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import Conflict
from core.money import Money
from tasks.aggregation import majority_vote
from tasks.assignment import get_next_task
from tasks.models import Project, ReviewStatus
from tasks.reports import fair_pay, project_summary, worker_earnings
from tasks.results import Query, project_results, results_csv
from tasks.review import flagged_answers, review_answer
from tasks.snapshots import refresh_snapshot
from tasks.submission import SubmitResult, submit_answer
from tests.conftest import make_settings
from tests.tasks import factories
from tests.tasks.synthetic import LABELS, make_crowd
from workers.models import Worker


def _answer(
    session: Session, project: Project, raw: str, seconds: float
) -> tuple[Worker, SubmitResult]:
    worker = factories.worker(session)
    now = utcnow()
    view = get_next_task(session, worker, now)
    assert view is not None and view.project_id == project.id
    return worker, submit_answer(
        session, worker, view.task_id, raw, now + timedelta(seconds=seconds)
    )


@pytest.mark.parametrize("accept", [True, False])
def test_review_accepts_and_pays_or_rejects_and_releases(session: Session, accept: bool) -> None:
    project = factories.project(session, texts=["t1"], answers_per_task=1, min_seconds_per_answer=5)
    _, held = _answer(session, project, "1", 1)
    assert [a.id for a in flagged_answers(session)] == [held.assignment_id]
    decided = review_answer(session, held.assignment_id, accept=accept, now=utcnow())
    assert decided.review_status == (ReviewStatus.ACCEPTED if accept else ReviewStatus.REJECTED)
    assert decided.paid is accept
    session.refresh(project)
    assert (project.paid_minor, project.reserved_count) == ((100, 0) if accept else (0, 0))
    assert flagged_answers(session) == []
    with pytest.raises(Conflict):
        review_answer(session, held.assignment_id, accept=True, now=utcnow())
    result = project_results(session, project).rows[0]
    assert (result["answer"], result["n_answers"]) == (("A", 1) if accept else (None, 0))


def test_results_and_csv(session: Session) -> None:
    # Fixed redundancy (no extra answers): two agreeing newcomers complete it at 4/6.
    project = factories.project(session, texts=["t1"], answers_per_task=2, max_answers=2)
    _answer(session, project, "1", 10)
    _answer(session, project, "A", 10)
    results = project_results(session, project, Query(include_answers=True)).rows
    assert results[0]["answer"] == "A" and results[0]["confidence"] == pytest.approx(4 / 6)
    assert results[0]["text"] == "t1" and results[0]["external_id"] == "t1"
    assert [a["value"] for a in results[0]["answers"]] == ["A", "A"]
    lines = results_csv(results).splitlines()
    assert lines[0] == "task_id,external_id,status,answer,confidence,n_answers"
    assert lines[1].endswith(f",t1,complete,A,{4 / 6},2")


def test_low_confidence_asks_for_more_answers_up_to_the_cap(session: Session) -> None:
    project = factories.project(
        session, texts=["t1"], answers_per_task=2, max_answers=4, target_confidence=0.7
    )
    _answer(session, project, "1", 10)
    _answer(session, project, "2", 10)  # 1-1: a tie, a third answer is wanted
    _answer(session, project, "1", 10)  # 2-1: 4/7 = 0.57 < 0.7, a fourth
    _answer(session, project, "2", 10)  # the cap: complete, tied at 2^2 / (2^2 + 2^2 + 1)
    assert get_next_task(session, factories.worker(session), utcnow()) is None
    result = project_results(session, project).rows[0]
    assert (result["status"], result["n_answers"]) == ("complete", 4)
    assert result["confidence"] == pytest.approx(4 / 9)


def test_fair_pay_flags_a_project_below_the_living_wage(session: Session) -> None:
    settings = make_settings(living_wage_floors=(("KE", 12500),), platform_fee_percent=25)
    cheap = factories.project(session, texts=["t1"], answers_per_task=1, reward=Money(10, "KES"))
    _answer(session, cheap, "1", 60)  # 10 cents a minute: KES 6 an hour
    pay = fair_pay(session, cheap, settings)
    assert pay["effective_hourly_wage"] == {"amount": 600, "currency": "KES"}
    assert pay["below_living_wage"] is True and pay["worker_share"] == pytest.approx(10 / 12)
    summary = project_summary(session, cheap, settings)
    assert summary["budget"]["ledger_balance"]["amount"] == 100_000 - 10


def test_worker_earnings(session: Session) -> None:
    project = factories.project(session, texts=["t1"], answers_per_task=1)
    worker, _ = _answer(session, project, "1", 10)
    earnings = worker_earnings(session, worker, utcnow(), "KES")
    assert (earnings.balance, earnings.tasks_today, earnings.pay_today) == (
        Money(100, "KES"),
        1,
        Money(100, "KES"),
    )
    assert earnings.accuracy is None
    assert earnings.hourly == Money(100 * 3600 // 10, "KES")  # 100 cents per 10 seconds


def test_dawid_skene_project_results_beat_majority_against_swappers(session: Session) -> None:
    crowd = make_crowd(3, n_tasks=30, accuracies=(0.85,) * 10, swappers=frozenset({0, 1, 2, 3}))
    texts = [f"t{i}" for i in range(30)]
    project = factories.project(
        session,
        texts=texts,
        options=list(LABELS),
        answers_per_task=5,
        max_answers=5,
        aggregator="dawid_skene",
    )
    workers = [factories.worker(session) for _ in range(10)]
    now = utcnow()
    for task_index, worker_index, label in crowd.answers:  # in task order, as a crowd would
        worker = workers[worker_index]
        view = get_next_task(session, worker, now)
        assert view is not None and view.text == f"t{task_index}"
        submit_answer(session, worker, view.task_id, label, now + timedelta(seconds=8))
    before = project_results(session, project)
    assert before.version is None  # no whole-project run inside a request
    assert refresh_snapshot(session, project, utcnow()) is not None
    page = project_results(session, project)
    assert page.version == 1
    by_text = {r["external_id"]: r for r in page.rows}
    ds = sum(by_text[f"t{i}"]["answer"] == crowd.truth[i] for i in range(30)) / 30
    majority = majority_vote(crowd.answers, LABELS)
    mv = sum(majority[i].label == crowd.truth[i] for i in range(30)) / 30
    assert ds >= 0.9 and ds - mv >= 0.1, (ds, mv)
    assert all(r["status"] == "complete" and r["n_answers"] == 5 for r in by_text.values())


def test_no_extra_answer_is_wanted_while_the_first_ones_are_still_out(session: Session) -> None:
    factories.project(
        session, texts=["t1"], answers_per_task=2, max_answers=4, target_confidence=0.9
    )
    first, second, third = (factories.worker(session) for _ in range(3))
    now = utcnow()
    one, two = (get_next_task(session, w, now) for w in (first, second))
    assert one is not None and two is not None
    submit_answer(session, first, one.task_id, "1", now + timedelta(seconds=9))
    assert get_next_task(session, third, now) is None  # the second answer is still out
    submit_answer(session, second, two.task_id, "2", now + timedelta(seconds=9))
    assert get_next_task(session, third, now) is not None  # 1-1: unsure, one more wanted


def test_fair_pay_leaves_out_held_and_rejected_answers(session: Session) -> None:
    settings = make_settings()
    project = factories.project(
        session, texts=["t1", "t2", "t3"], answers_per_task=1, min_seconds_per_answer=5
    )
    _answer(session, project, "1", 60)  # paid: one minute
    _, held = _answer(session, project, "1", 1)  # too fast: held
    _, rejected = _answer(session, project, "1", 2)
    review_answer(session, rejected.assignment_id, accept=False, now=utcnow())
    # Only the paid minute counts; with the 1 s and 2 s answers the median would be 2 s.
    assert fair_pay(session, project, settings)["median_seconds_per_answer"] == 60
    review_answer(session, held.assignment_id, accept=True, now=utcnow())
    assert fair_pay(session, project, settings)["median_seconds_per_answer"] == 30.5
