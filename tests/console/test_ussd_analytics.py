"""USSD analytics on both databases: outcomes per day, drop-off by screen, median effort."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy.orm import Session

from console import queries
from console.ussd_analytics import drop_off, effort, funnel, screen_title, sessions_by_outcome
from core.db import utcnow
from tasks.models import AssignmentStatus
from tests.console import factories as make

NOW = datetime(2026, 11, 26, 15, 40, tzinfo=UTC)
DAY = timedelta(days=1)
TASK = "Is this review positive?\n'Great phone'\n1. Yes\n2. No"
MENU = "Kazi\n1. Work\n2. Balance\n3. Withdraw"


def test_screen_title_is_the_first_line() -> None:
    assert screen_title(TASK) == "Is this review positive?"
    assert screen_title("  \n") == "(no screen recorded)"
    assert screen_title(None) == "(no screen recorded)"


def test_sessions_per_day_by_outcome(session: Session) -> None:
    window = queries.last_7_days(NOW)
    make.ussd(session, NOW, end_status="success")
    make.ussd(session, NOW, end_status="incomplete")
    make.ussd(session, NOW - 2 * DAY, end_status="success")
    make.ussd(session, NOW - 2 * DAY)  # still open
    make.ussd(session, NOW - 9 * DAY, end_status="success")
    assert sessions_by_outcome(session, window) == {
        "incomplete": [0, 0, 0, 0, 0, 0, 1],
        "open": [0, 0, 0, 0, 1, 0, 0],
        "success": [0, 0, 0, 0, 1, 0, 1],
    }


def test_drop_off_groups_dropped_sessions_by_screen(session: Session) -> None:
    window = queries.last_7_days(NOW)
    make.ussd(session, NOW, end_status="incomplete", last_screen=TASK)
    make.ussd(session, NOW, end_status="incomplete", last_screen=TASK.replace("Great", "Awful"))
    make.ussd(session, NOW, end_status="incomplete", last_screen=MENU)
    make.ussd(session, NOW, end_status="success", last_screen=MENU)  # finished: not a drop
    assert drop_off(session, window) == [("Is this review positive?", 2), ("Kazi", 1)]


def test_drop_off_adds_up_one_flow_step_across_languages_and_pages(session: Session) -> None:
    window = queries.last_7_days(NOW)
    swahili = "Je, maoni haya ni mazuri?\n'Simu nzuri'\n1. Ndiyo\n2. Hapana"
    make.ussd(session, NOW, end_status="incomplete", last_screen=TASK, last_node="work.task")
    make.ussd(session, NOW, end_status="incomplete", last_screen=swahili, last_node="work.task")
    make.ussd(session, NOW, end_status="incomplete", last_screen="98 More", last_node="work.task")
    make.ussd(session, NOW, end_status="incomplete", last_screen=MENU, last_node="main.menu")
    make.ussd(session, NOW, end_status="incomplete", last_screen=MENU)  # before steps were kept
    assert drop_off(session, window) == [("work.task", 3), ("Kazi", 1), ("main.menu", 1)]


def test_funnel_counts_newcomers_step_by_step(session: Session) -> None:
    window = queries.last_7_days(NOW)
    project = make.project(session)
    registered = {"registered_at": NOW}
    only_dialled = make.worker(session, "+254700000401", created_at=NOW)
    make.ussd(session, NOW, worker_id=only_dialled.id)
    shown = make.worker(session, "+254700000402", created_at=NOW, **registered)
    make.ussd(session, NOW, worker_id=shown.id)
    make.answer(session, project, shown, NOW, status=AssignmentStatus.RESERVED)
    answered = make.worker(session, "+254700000403", created_at=NOW, **registered)
    make.ussd(session, NOW, worker_id=answered.id)
    make.answer(session, project, answered, NOW)
    paid = make.worker(session, "+254700000404", created_at=NOW, **registered)
    make.ussd(session, NOW, worker_id=paid.id)
    make.answer(session, project, paid, NOW).paid = True
    old = make.worker(session, "+254700000405", created_at=NOW - 9 * DAY, **registered)
    make.ussd(session, NOW, worker_id=old.id)  # first seen before the window: not a newcomer
    make.worker(session, "+254700000406", created_at=NOW)  # texted only, never dialled
    session.flush()
    steps = funnel(session, window)
    assert [(s.name, s.workers) for s in steps] == [
        ("dialled", 4),
        ("registered", 3),
        ("first task shown", 3),
        ("first answer", 2),
        ("first paid answer", 1),
    ]
    assert steps[0].of_previous is None
    assert (steps[1].of_previous, steps[4].of_previous, steps[4].of_first) == (0.75, 0.5, 0.25)


def test_effort_medians(session: Session) -> None:
    window = queries.last_7_days(NOW)
    for hops, ms in ((3, 20_000), (5, 40_000), (9, 90_000)):
        make.ussd(session, NOW, end_status="success", hops=hops, duration_ms=ms)
    make.ussd(session, NOW, end_status="incomplete", hops=40, duration_ms=999_000)
    worker = make.worker(session, "+254700000301")
    project = make.project(session)
    for seconds in (10.0, 20.0, 60.0, 70.0):
        make.answer(session, project, worker, NOW - DAY, seconds=seconds)
    result = effort(session, window)
    assert (result.screens_per_session, result.seconds_per_session) == (5, 40.0)
    assert result.seconds_per_answer == 40.0


def test_effort_is_unknown_without_data(session: Session) -> None:
    result = effort(session, queries.last_7_days(NOW))
    assert result == type(result)(None, None, None)


def test_ussd_page_draws_its_charts(app: Flask, signed_in) -> None:
    with app.extensions["kazi"].sessions.begin() as session:
        make.ussd(session, utcnow(), end_status="incomplete", last_screen=TASK, hops=2)
        make.ussd(session, utcnow(), end_status="success", hops=6, duration_ms=30_000)
        newcomer = make.worker(session, "+254700000407", created_at=utcnow())
        make.ussd(session, utcnow(), worker_id=newcomer.id, last_node="main.language")
    page = signed_in("viewer").get("/console/ussd").get_data(as_text=True)
    assert page.count('<svg class="chart"') == 2
    assert "Is this review positive?" in page
    assert '<td class="num" data-step="dialled">1</td>' in page
    assert '<td class="num" data-step="registered">0</td>' in page
    assert 'id="median-screens">6.0' in page
