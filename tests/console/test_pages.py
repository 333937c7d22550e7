"""The dashboard, message log, timeline and worker pages as operators of each role see them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from console.display import mask_phone
from console.models import AuditEntry
from core.db import utcnow
from core.money import Money
from flows.i18n import format_value
from ledger import services as ledger
from ledger.wages import credit_wage
from payouts.models import PayoutStatus
from tasks import reputation
from tests.console import factories as make
from tests.console.conftest import csrf_token
from tests.tasks.factories import fund
from workers.models import Worker, WorkerStatus

SignedIn = Callable[[str], FlaskClient]
ANN = "+254700000001"
BEN = "+254711222333"


@contextmanager
def db(app: Flask) -> Iterator[Session]:
    with app.extensions["kazi"].sessions.begin() as session:
        yield session


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+254700000001", "+2547•••••001"),
        ("+15551234", "••••••234"),
        ("12345", "•••••"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_phone_keeps_prefix_and_last_digits(number: str | None, masked: str) -> None:
    assert mask_phone(number) == masked


def test_dashboard_draws_its_charts_from_the_data(app: Flask, signed_in: SignedIn) -> None:
    now = utcnow()
    with db(app) as session:
        make.message(session, now, direction="in", status="received")
        make.message(session, now, status="failed", error="InvalidPhoneNumber")
        make.message(session, now, status="delivered", cost_minor=80, cost_currency="KES")
    client = signed_in("viewer")
    for period in ("24h", "7d"):
        page = client.get(f"/console/?period={period}").get_data(as_text=True)
        assert page.count('<svg class="chart"') == 5
        assert "InvalidPhoneNumber" in page  # failures by reason chart
        assert 'id="delivery-rate">\n    50.0%' in page
        assert "KES 0.80" in page


def test_message_log_filters_and_pages(app: Flask, signed_in: SignedIn) -> None:
    now = utcnow()
    with db(app) as session:
        for i in range(55):
            make.message(session, now - timedelta(minutes=i), phone=ANN, body=f"out {i}")
        make.message(session, now, direction="in", status="received", phone=BEN, body="JOIN-BEN")
        make.message(session, now - timedelta(days=3), phone=BEN, status="failed", body="OLD-FAIL")
    client = signed_in("operator")
    page = client.get("/console/messages?phone=0711222333").get_data(as_text=True)
    assert "JOIN-BEN" in page and "OLD-FAIL" in page and "out 0" not in page
    page = client.get("/console/messages?phone=0711222333&direction=in").get_data(as_text=True)
    assert "JOIN-BEN" in page and "OLD-FAIL" not in page
    page = client.get("/console/messages?status=failed").get_data(as_text=True)
    assert "OLD-FAIL" in page and "JOIN-BEN" not in page
    since = (now - timedelta(days=1)).date().isoformat()
    page = client.get(f"/console/messages?phone={BEN}&from={since}").get_data(as_text=True)
    assert "JOIN-BEN" in page and "OLD-FAIL" not in page
    until = (now - timedelta(days=2)).date().isoformat()
    page = client.get(f"/console/messages?phone={BEN}&to={until}").get_data(as_text=True)
    assert "OLD-FAIL" in page and "JOIN-BEN" not in page
    first = client.get(f"/console/messages?phone={ANN}").get_data(as_text=True)
    assert "out 0<" in first and "out 49<" in first and "out 50<" not in first
    assert 'rel="next"' in first
    second = client.get(f"/console/messages?phone={ANN}&page=2").get_data(as_text=True)
    assert "out 50<" in second and "out 54<" in second and 'rel="next"' not in second


def test_channel_filter_and_bad_input_do_not_break_the_log(app: Flask, signed_in: SignedIn) -> None:
    with db(app) as session:
        make.message(session, utcnow(), channel="whatsapp", body="via whatsapp")
        make.message(session, utcnow(), body="via sms")
    client = signed_in("operator")
    page = client.get("/console/messages?channel=whatsapp").get_data(as_text=True)
    assert "via whatsapp" in page and "via sms" not in page
    response = client.get("/console/messages?phone=banana&status=nonsense&from=2026-13-45&page=x")
    assert response.status_code == 200
    assert client.get("/console/messages?page=" + "9" * 30).status_code == 200
    assert "is not a phone number" in response.get_data(as_text=True)


def test_viewers_see_masked_numbers_and_operators_see_them_whole(
    app: Flask, signed_in: SignedIn
) -> None:
    with db(app) as session:
        message_id = make.message(session, utcnow(), phone=BEN, body="hi").id
        worker_id = make.worker(session, BEN).id
    viewer, operator = signed_in("viewer"), signed_in("operator")
    paths = [
        "/console/messages",
        f"/console/timeline?message_id={message_id}",
        f"/console/timeline?worker_id={worker_id}",
        "/console/workers",
        f"/console/workers/{worker_id}",
    ]
    for path in paths:
        seen_by_viewer = viewer.get(path).get_data(as_text=True)
        assert "+2547•••••333" in seen_by_viewer, path
        assert "711222333" not in seen_by_viewer, path  # not even in a link
        assert "+254711222333" in operator.get(path).get_data(as_text=True), path


def test_timeline_merges_sms_and_ussd_sessions_newest_first(
    app: Flask, signed_in: SignedIn
) -> None:
    now = utcnow()
    with db(app) as session:
        make.message(session, now - timedelta(minutes=10), direction="in", phone=BEN, body="JOIN")
        make.ussd(
            session,
            now - timedelta(minutes=5),
            phone=BEN,
            seen_text="1*2*yes",
            hops=4,
            last_screen="Thank you! KES 5.00 earned.",
            end_status="completed",
            duration_ms=41_000,
        )
        make.message(session, now, phone=BEN, body="You earned KES 5.00")
        make.message(session, now, phone=ANN, body="not ben")
    page = signed_in("operator").get(f"/console/timeline?phone={BEN}").get_data(as_text=True)
    assert "not ben" not in page
    assert page.index("You earned") < page.index("Thank you!") < page.index("JOIN")
    assert "<code>1</code> → <code>2</code> → <code>yes</code>" in page
    assert "4 screens" in page and "41.0 s" in page


def test_worker_search_and_detail_with_earnings_accuracy_and_payouts(
    app: Flask, signed_in: SignedIn
) -> None:
    now = utcnow()
    with db(app) as session:
        ann = make.worker(session, ANN)
        make.worker(session, BEN)
        project = make.project(session)
        fund(session, project.requester_id, Money(10_000, "KES"))
        ledger.commit_budget(
            session,
            requester_id=project.requester_id,
            project_id=project.id,
            amount=Money(10_000, "KES"),
            reference="f1",
        )
        make.answer(session, project, ann, now, gold="yes", answer_text="Yes", seconds=1800)
        make.answer(session, project, ann, now, gold="no", answer_text="yes", seconds=1800)
        flagged = make.answer(session, project, ann, now, flagged=True, seconds=0)
        flagged.flag_reason = "too_fast"
        ann.language, ann.registered_at = "sw", now
        make.message(session, now, phone=ANN, worker_id=ann.id, body="Karibu Kazi", status="failed")
        make.message(session, now, phone=BEN, body="not Ann's")
        credit_wage(
            session,
            worker_id=ann.id,
            project_id=project.id,
            amount=Money(1500, "KES"),
            reference="w1",
        )
        make.payout(session, ann, 1000, PayoutStatus.SETTLED, now)
        ann_id = ann.id
    client = signed_in("viewer")
    found = client.get("/console/workers?q=0001").get_data(as_text=True)
    assert f"/console/workers/{ann_id}" in found and "•••••333" not in found
    page = client.get(f"/console/workers/{ann_id}").get_data(as_text=True)
    assert "50%" in page and "1 of 2" in page  # raw score on gold
    with db(app) as session:
        shown = format_value(reputation.headline(session, ann_id), "en")
    assert f'id="worker-reputation">{shown}<' in page  # what the earnings screen says
    assert 'id="worker-language">sw<' in page and "not yet" in page  # registered, no quiz yet
    assert 'id="worker-flagged">1<' in page and "too_fast" in page
    assert "Karibu Kazi" in page and "not Ann&#39;s" not in page and "not Ann's" not in page
    assert "KES 15.00" in page  # wages earned
    assert "wallet KES 15.00" in page  # the hold/settle ledger legs come with the payouts service
    assert "KES 15.00/hour on task" in page  # 15.00 in one hour measured on task
    assert "KES 10.00" in page and "settled" in page  # the payout
    assert "Block this worker" not in page  # viewers cannot act
    # Each section once, inside the page's body; the title is the worker's alone.
    assert page.count('id="worker-flags"') == page.count('id="worker-messages"') == 1
    assert f"<title>Worker {ann_id} · Kazi</title>" in page
    assert client.get("/console/workers/99999").status_code == 404


def test_operator_blocks_and_unblocks_with_a_reason_audited(
    app: Flask, signed_in: SignedIn
) -> None:
    with db(app) as session:
        worker_id = make.worker(session, ANN).id
    client = signed_in("operator")
    path = f"/console/workers/{worker_id}"
    token = csrf_token(client, path)
    assert (
        client.post(f"{path}/block", data={"reason": "   ", "csrf_token": token}).status_code == 302
    )
    assert client.post(f"{path}/block", data={"reason": "spam answers"}).status_code == 400
    with db(app) as session:
        assert session.get_one(Worker, worker_id).status == WorkerStatus.ACTIVE
    client.post(f"{path}/block", data={"reason": "spam answers", "csrf_token": token})
    page = client.get(path).get_data(as_text=True)
    assert 'id="worker-status">blocked' in page and "spam answers" in page
    again = client.post(
        f"{path}/block", data={"reason": "twice", "csrf_token": token}, follow_redirects=True
    )
    assert "already blocked" in again.get_data(as_text=True)
    client.post(f"{path}/unblock", data={"reason": "appeal upheld", "csrf_token": token})
    with db(app) as session:
        worker = session.get_one(Worker, worker_id)
        assert (worker.status, worker.status_reason) == (WorkerStatus.ACTIVE, "appeal upheld")
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("worker.%"))
        ).all()
        assert [(e.action, e.target, e.details["reason"]) for e in entries] == [
            ("worker.block", f"worker:{worker_id}", "spam answers"),
            ("worker.unblock", f"worker:{worker_id}", "appeal upheld"),
        ]
        assert all(e.operator_id is not None and e.ip == "127.0.0.1" for e in entries)


def test_operator_unlocks_a_pin_locked_for_good_audited(app: Flask, signed_in: SignedIn) -> None:
    with db(app) as session:
        worker = make.worker(session, ANN)
        worker.pin_lock_level, worker.pin_locked_until = 3, None  # the last level
        worker_id = worker.id
    path = f"/console/workers/{worker_id}"
    viewer = signed_in("viewer")
    page = viewer.get(path).get_data(as_text=True)
    assert "until an operator unlocks them" in page and "Unlock PIN" not in page
    assert viewer.post(f"{path}/unlock-pin", data={"reason": "x"}).status_code in (400, 403)
    client = signed_in("operator")
    token = csrf_token(client, path)
    assert "Unlock PIN" in client.get(path).get_data(as_text=True)
    client.post(f"{path}/unlock-pin", data={"reason": "   ", "csrf_token": token})
    with db(app) as session:
        assert session.get_one(Worker, worker_id).pin_lock_level == 3  # no reason, no unlock
    client.post(f"{path}/unlock-pin", data={"reason": "called support", "csrf_token": token})
    again = client.post(
        f"{path}/unlock-pin", data={"reason": "twice", "csrf_token": token}, follow_redirects=True
    )
    assert "has no PIN lock" in again.get_data(as_text=True)
    with db(app) as session:
        unlocked = session.get_one(Worker, worker_id)
        assert (unlocked.pin_lock_level, unlocked.pin_locked_until) == (0, None)
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "worker.pin_unlock")
        ).all()
        assert [(e.target, e.details["reason"]) for e in entries] == [
            (f"worker:{worker_id}", "called support")
        ]


def test_operator_reinstates_a_suspended_worker_audited(app: Flask, signed_in: SignedIn) -> None:
    with db(app) as session:
        worker = make.worker(session, ANN)
        worker.suspended_at, worker.suspension_reason, worker.quality_flags = utcnow(), "pattern", 2
        worker_id = worker.id
    client = signed_in("operator")
    path = f"/console/workers/{worker_id}"
    page = client.get(path).get_data(as_text=True)
    assert 'id="worker-suspension">pattern' in page and "Reinstate" in page
    token = csrf_token(client, path)
    client.post(f"{path}/reinstate", data={"reason": "answers checked", "csrf_token": token})
    with db(app) as session:
        row = session.get_one(Worker, worker_id)
        assert (row.suspended_at, row.quality_flags) == (None, 0)
        [entry] = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "worker.reinstate")
        ).all()
        assert entry.details == {"reason": "answers checked", "suspended_for": "pattern"}
    assert "worker-suspension" not in client.get(path).get_data(as_text=True)
