"""Payouts (retry, reconcile, float) and projects (progress, review queue) in the console."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.webhooks import WebhookEvent, record_event
from kazi.app import create_app
from payouts import lifecycle
from payouts.float_balance import EVENT_KIND
from payouts.models import Payout
from tasks.assignment import get_next_task
from tasks.models import Assignment, ReviewStatus
from tasks.submission import submit_answer
from tests.conftest import make_settings
from tests.console.conftest import csrf_token
from tests.console.test_auth import audit
from tests.payouts.factories import earn, make_worker
from tests.payouts.test_withdrawal import withdraw
from tests.tasks import factories as tasks_factories

SignedIn = Callable[[str], FlaskClient]


@pytest.fixture
def app(committed_url: str) -> Iterator[Flask]:
    """The console app; the sandbox answers at once (so the jobs are done by teardown)."""
    settings = make_settings(
        database_url=committed_url,
        payout_sandbox_delay_seconds=0.0,
        payout_float_alert_minor=100_000,
        platform_fee_percent=25,
    )
    flask_app = create_app(settings)
    flask_app.config["TESTING"] = True
    yield flask_app
    flask_app.extensions["kazi"].jobs.drain()
    flask_app.extensions["kazi"].engine.dispose()


@contextmanager
def db(app: Flask) -> Iterator[Session]:
    with app.extensions["kazi"].sessions.begin() as session:
        yield session


def failed_payout(app: Flask, amount: int = 5_000) -> tuple[int, str]:
    """A withdrawal the provider refused: final, its money back in the wallet."""
    with db(app) as session:
        worker = make_worker(session)
        earn(session, worker.id, 7_000)
        payout = withdraw(session, worker.id, amount)
        lifecycle.fail(session, payout, code="2001", description="refused")
        return payout.id, worker.msisdn


def post(client: FlaskClient, path: str, page: str, **data: Any) -> Any:
    """Post a console form with the CSRF token read from ``page``."""
    return client.post(path, data={"csrf_token": csrf_token(client, page), **data})


def test_payouts_page_lists_filters_and_masks_for_viewers(app: Flask, signed_in: SignedIn) -> None:
    payout_id, phone = failed_payout(app)
    client = signed_in("viewer")
    page = client.get("/console/payouts").get_data(as_text=True)
    assert phone not in page and phone[-3:] in page  # masked
    assert "KES 50.00" in page and "refused" in page
    assert "Retry</button>" not in page and "Run reconciliation" not in page
    assert "refused" not in client.get("/console/payouts?status=settled").get_data(as_text=True)
    assert "refused" in client.get("/console/payouts?status=failed").get_data(as_text=True)
    assert phone in signed_in("operator").get("/console/payouts").get_data(as_text=True)


def test_operator_retries_a_failed_payout_once_and_it_is_audited(
    app: Flask, signed_in: SignedIn
) -> None:
    payout_id, _ = failed_payout(app)
    client = signed_in("operator")
    path = f"/console/payouts/{payout_id}/retry"
    assert client.post(path).status_code == 400  # no CSRF token
    assert post(client, path, "/console/payouts").status_code == 302
    app.extensions["kazi"].jobs.drain()
    with db(app) as session:
        retry = session.scalars(select(Payout).where(Payout.retry_of_id == payout_id)).one()
        assert retry.amount_minor == 5_000 and retry.id != payout_id
    again = post(client, path, "/console/payouts")
    assert again.status_code == 302
    assert "already retried" in client.get("/console/payouts").get_data(as_text=True)
    with db(app) as session:
        assert session.scalar(select(func.count()).where(Payout.retry_of_id == payout_id)) == 1
    assert audit(app)[-1] == (
        "payout.retry",
        f"payout:{payout_id}",
        {"new_payout": retry.id, "amount_minor": 5_000},
    )


def test_viewers_cannot_retry_reconcile_or_ask_for_the_float(
    app: Flask, signed_in: SignedIn
) -> None:
    payout_id, _ = failed_payout(app)
    client = signed_in("viewer")
    for path in (
        f"/console/payouts/{payout_id}/retry",
        "/console/payouts/reconcile",
        "/console/payouts/float",
    ):
        assert post(client, path, "/console/payouts").status_code == 403
    with db(app) as session:
        assert session.scalar(select(func.count()).select_from(Payout)) == 1
    assert [a for a, *_ in audit(app) if a.startswith("payout")] == []


def test_reconcile_queues_a_status_query_and_shows_mismatches(
    app: Flask, signed_in: SignedIn
) -> None:
    with db(app) as session:
        worker = make_worker(session)
        earn(session, worker.id, 7_000)
        stuck = withdraw(session, worker.id, 2_000)
        stuck.submit_attempts = 1  # an attempt that left no answer: only a query may follow
        lifecycle.mark_unknown(stuck, "timed out")
        stuck.created_at = utcnow() - timedelta(hours=1)
        stuck_id = stuck.id
        contradicted = withdraw(session, worker.id, 1_000)
        lifecycle.fail(session, contradicted, code="1", description="no")
        lifecycle.settle(session, contradicted, receipt="LATE")
    client = signed_in("operator")
    assert client.post("/console/payouts/reconcile").status_code == 400  # no CSRF token
    response = post(client, "/console/payouts/reconcile", "/console/payouts")
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert f"Payout {stuck_id} (unknown): status query queued." in page
    assert f"MISMATCH payout {contradicted.id}" in page
    action, _, details = audit(app)[-1]
    assert action == "payout.reconcile"
    assert details == {"queued": [[stuck_id, "status query"]], "mismatches": 1}


def test_the_float_and_its_alert_show_on_payouts_and_dashboard(
    app: Flask, signed_in: SignedIn
) -> None:
    client = signed_in("operator")
    assert "no balance answer yet" in client.get("/console/payouts").get_data(as_text=True)
    assert post(client, "/console/payouts/float", "/console/payouts").status_code == 302
    assert audit(app)[-1][0] == "payout.float_check"
    app.extensions["kazi"].jobs.drain()  # the sandbox answers the balance query by callback
    with db(app) as session:
        events = select(func.count()).where(WebhookEvent.kind == EVENT_KIND)
        assert session.scalars(events).one() >= 1
    for path in ("/console/payouts", "/console/"):
        page = client.get(path).get_data(as_text=True)
        assert "KES 1000000.00" in page and "threshold KES 1000.00" in page
    with db(app) as session:  # a low reading is an alert
        record_event(
            session,
            source="sandbox",  # the configured rail's reading
            kind=EVENT_KIND,
            payload=LOW_BALANCE,
            external_id="low-1",
        )
    page = client.get("/console/").get_data(as_text=True)
    assert "KES 1.00" in page and "ALERT: below KES 1000.00" in page


#: A Daraja Account Balance result (documented shape) with KES 1.00 in the utility account.
LOW_BALANCE = {
    "Result": {
        "ResultType": 0,
        "ResultCode": 0,
        "ResultDesc": "The service request is processed successfully.",
        "OriginatorConversationID": "low-1",
        "ConversationID": "AG_low_1",
        "TransactionID": "",
        "ResultParameters": {
            "ResultParameter": [
                {
                    "Key": "AccountBalance",
                    "Value": "Working Account|KES|0.00|0.00|0.00|0.00"
                    "&Utility Account|KES|1.00|1.00|0.00|0.00",
                },
                {"Key": "BOCompletedTime", "Value": "20261126120000"},
            ]
        },
    }
}


def test_projects_show_progress_fair_pay_and_the_review_queue(
    app: Flask, signed_in: SignedIn
) -> None:
    with db(app) as session:
        # One answer per task, no extra ones: each answer completes its task.
        slow = tasks_factories.project(
            session, name="Slow", texts=["s1"], answers_per_task=1, max_answers=1
        )
        _answer(session, slow, "1", seconds=60)  # KES 1.00 a minute: below KE's KES 125/hour
        project = tasks_factories.project(
            session, texts=["t1", "t2"], answers_per_task=1, max_answers=1, min_seconds_per_answer=5
        )
        held = _answer(session, project, "1", seconds=1)  # too fast: held for review
    client = signed_in("viewer")
    page = client.get("/console/projects").get_data(as_text=True)
    assert '<progress class="project-progress" max="100" value="0">' in page  # Reviews
    assert '<progress class="project-progress" max="100" value="100">' in page  # Slow
    # The held answer is no wage yet: it is left out of the fair-pay figures until accepted.
    assert "KES 3600.00/hour" not in page and "KES 60.00/hour" in page
    assert page.count("80%") == 2  # KES 1.00 of the KES 1.25 price reaches the worker
    assert page.count("below the floor") == 1 and "KE floor KES 125.00/hour" in page
    assert f"<td>{held}</td>" in page and "Accept</button>" not in page
    assert post(client, f"/console/review/{held}/accept", "/console/projects").status_code == 403
    operator = signed_in("operator")
    assert operator.post(f"/console/review/{held}/accept").status_code == 400  # no CSRF token
    response = post(operator, f"/console/review/{held}/accept", "/console/projects")
    assert response.status_code == 302
    with db(app) as session:
        answer = session.get_one(Assignment, held)
        assert answer.review_status is ReviewStatus.ACCEPTED and answer.paid
    page = operator.get("/console/projects").get_data(as_text=True)
    assert "Nothing waiting for review" in page and 'value="50"' in page  # 1 of 2 tasks done
    assert "KES 3600.00/hour" in page  # accepted: now a wage, in the figures
    assert audit(app)[-1] == (
        "answer.accept",
        f"assignment:{held}",
        {"task": answer.task_id, "worker": answer.worker_id},
    )
    again = post(operator, f"/console/review/{held}/reject", "/console/projects")
    assert "is not waiting for review" in operator.get(again.location).get_data(as_text=True)


def _answer(session: Session, project: Any, raw: str, seconds: float) -> int:
    worker = tasks_factories.worker(session)
    now = utcnow()
    view = get_next_task(session, worker, now)
    assert view is not None and view.project_id == project.id
    return submit_answer(
        session, worker, view.task_id, raw, now + timedelta(seconds=seconds)
    ).assignment_id
