"""Resolving an open payout from the console: ask M-Pesa (operators), mark paid/failed (admins)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from core.db import utcnow
from gateway.models import Message
from kazi.app import create_app
from ledger import payout_postings
from ledger import services as ledger
from ledger.models import AccountKind
from payouts import lifecycle
from payouts.models import Payout
from tests.conftest import make_settings
from tests.console.conftest import csrf_token
from tests.console.test_auth import audit
from tests.console.test_money_pages import db
from tests.payouts.factories import earn, make_worker, wallet_balance
from tests.payouts.test_withdrawal import withdraw

SignedIn = Callable[[str], FlaskClient]
PAGE = "/console/payouts"
TOKEN = "hook-token"
RECEIPT = "UAF0000XY1"
PAID = {"receipt": RECEIPT, "reason": "org portal: Completed 10:15", "confirmed": "y"}
NOT_PAID = {"reason": "org portal: no transaction for this id", "confirmed": "y"}


@pytest.fixture
def app(committed_url: str) -> Iterator[Flask]:
    """The console app on the sandbox, with Daraja's webhook open for late callbacks."""
    settings = make_settings(
        database_url=committed_url, payout_sandbox_delay_seconds=0.0, mpesa_webhook_token=TOKEN
    )
    flask_app = create_app(settings)
    flask_app.config["TESTING"] = True
    yield flask_app
    flask_app.extensions["kazi"].jobs.drain()
    flask_app.extensions["kazi"].engine.dispose()


def unknown_payout(app: Flask) -> int:
    """KES 50 of a worker's KES 70 on hold; an attempt was sent and left no answer."""
    with db(app) as session:
        worker = make_worker(session)
        earn(session, worker.id, 7_000)
        payout = withdraw(session, worker.id, 5_000)
        payout.submit_attempts = 1  # so its submit job, run after commit, never sends it
        lifecycle.mark_unknown(payout, "status query: not found")
        return payout.id


def state(app: Flask, payout_id: int) -> tuple[str, int, int, int, int]:
    """(status, wallet, hold, disbursed, SMS count) for the payout's worker."""
    # The receipt SMS is a job after commit: wait for the queue, never race it.
    app.extensions["kazi"].jobs.drain()
    with db(app) as session:
        payout = session.get_one(Payout, payout_id)
        hold = payout_postings.payout_hold(session, payout.worker_id, "KES")
        sms = select(func.count()).where(Message.worker_id == payout.worker_id)
        return (
            payout.status.value,
            wallet_balance(session, payout.worker_id),
            ledger.balance(session, hold).amount,
            ledger.account_total(session, AccountKind.DISBURSED, "KES").amount,
            session.scalars(sms).one(),
        )


def post(client: FlaskClient, path: str, **data: Any) -> str:
    """Post a console form with its CSRF token; the flashed page it redirects to."""
    response = client.post(path, data={"csrf_token": csrf_token(client, PAGE), **data})
    assert response.status_code == 302, response.status_code
    return client.get(response.location).get_data(as_text=True)


def test_roles_and_csrf_guard_every_action(app: Flask, signed_in: SignedIn) -> None:
    payout_id = unknown_payout(app)
    paths = {a: f"/console/payouts/{payout_id}/{a}" for a in ("ask", "mark-paid", "mark-failed")}
    viewer, operator = signed_in("viewer"), signed_in("operator")
    page = viewer.get(PAGE).get_data(as_text=True)
    assert "Ask M-Pesa now</button>" not in page and "Mark paid</button>" not in page
    page = operator.get(PAGE).get_data(as_text=True)
    assert "Ask M-Pesa now</button>" in page and "Mark paid</button>" not in page
    for path in paths.values():
        data = {"csrf_token": csrf_token(viewer, PAGE), **PAID}
        assert viewer.post(path, data=data).status_code == 403
    for action in ("mark-paid", "mark-failed"):
        data = {"csrf_token": csrf_token(operator, PAGE), **PAID}
        assert operator.post(paths[action], data=data).status_code == 403
    admin = signed_in("admin")
    assert "Mark failed and return the money</button>" in admin.get(PAGE).get_data(as_text=True)
    for path in paths.values():
        assert admin.post(path, data=PAID).status_code == 400  # no CSRF token
    assert state(app, payout_id) == ("unknown", 2_000, 5_000, 0, 0)
    assert [a for a, *_ in audit(app) if a.startswith("payout")] == []


def test_ask_sends_a_forced_status_query_and_is_audited(app: Flask, signed_in: SignedIn) -> None:
    payout_id = unknown_payout(app)
    with db(app) as session:  # queried a moment ago: only a forced query asks again
        session.get_one(Payout, payout_id).status_queried_at = utcnow()
    asked_at = utcnow()
    page = post(signed_in("operator"), f"/console/payouts/{payout_id}/ask")
    assert f"Payout {payout_id}: status query sent" in page
    assert audit(app)[-1] == ("payout.ask_status", f"payout:{payout_id}", {"status": "unknown"})
    app.extensions["kazi"].jobs.drain()
    with db(app) as session:
        payout = session.get_one(Payout, payout_id)
        assert payout.status_query_id and payout.status_queried_at
        assert payout.status_queried_at >= asked_at
    # The sandbox never received this payment: "not found" proves nothing, money stays held.
    assert state(app, payout_id) == ("unknown", 2_000, 5_000, 0, 0)


def test_admin_marks_paid_once_with_a_receipt_then_a_late_failure_is_a_mismatch(
    app: Flask, signed_in: SignedIn
) -> None:
    payout_id = unknown_payout(app)
    admin = signed_in("admin")
    path = f"/console/payouts/{payout_id}/mark-paid"
    page = post(admin, path, **{**PAID, "receipt": "UAF0000XY"})
    assert "10 letters and digits" in page
    page = post(admin, path, **{**PAID, "confirmed": ""})
    assert "confirm you looked it up in the M-Pesa org portal" in page
    assert state(app, payout_id) == ("unknown", 2_000, 5_000, 0, 0)
    page = post(admin, path, **PAID)
    assert f"Payout {payout_id} marked paid (receipt {RECEIPT})." in page
    assert state(app, payout_id) == ("settled", 2_000, 0, 5_000, 1)  # the worker's receipt
    page = post(admin, path, **PAID)  # the double click
    assert f"payout {payout_id} is already settled: nothing was changed" in page
    assert state(app, payout_id) == ("settled", 2_000, 0, 5_000, 1)
    assert [a for a in audit(app) if a[0] == "payout.mark_paid"] == [
        ("payout.mark_paid", f"payout:{payout_id}", {"receipt": RECEIPT, "reason": PAID["reason"]})
    ]
    _late_callback(app, payout_id, "daraja_b2c_result_failure.json")
    assert state(app, payout_id) == ("settled", 2_000, 0, 5_000, 1)
    page = admin.get(PAGE).get_data(as_text=True)
    assert (
        f"MISMATCH payout {payout_id} (settled, 5000): MISMATCH: the provider says failed" in page
    )


def test_admin_marks_failed_the_money_returns_once_then_a_late_success_is_a_mismatch(
    app: Flask, signed_in: SignedIn
) -> None:
    payout_id = unknown_payout(app)
    admin = signed_in("admin")
    path = f"/console/payouts/{payout_id}/mark-failed"
    assert "say what the M-Pesa org portal showed" in post(admin, path, reason=" ", confirmed="y")
    page = post(admin, path, **NOT_PAID)
    assert f"Payout {payout_id} marked failed" in page
    assert state(app, payout_id) == ("failed", 7_000, 0, 0, 1)
    assert "already failed" in post(admin, path, **NOT_PAID)
    assert "already failed" in post(admin, f"/console/payouts/{payout_id}/mark-paid", **PAID)
    assert state(app, payout_id) == ("failed", 7_000, 0, 0, 1)
    entries = [a for a in audit(app) if a[0].startswith("payout.mark")]
    assert entries == [
        (
            "payout.mark_failed",
            f"payout:{payout_id}",
            {"reason": NOT_PAID["reason"], "amount_minor": 5_000},
        )
    ]
    _late_callback(app, payout_id, "daraja_b2c_result_success.json")
    # The wallet keeps its money and no SMS goes out; what M-Pesa paid left through the
    # rail (disbursed) and is owed by the worker until an operator decides.
    assert state(app, payout_id) == ("failed", 7_000, 0, 5_000, 1)
    page = admin.get(PAGE).get_data(as_text=True)
    assert (
        f"MISMATCH payout {payout_id} (failed, 5000): MISMATCH: the provider says settled" in page
    )
    assert "Contradicted payouts: withdrawals blocked until resolved" in page
    page = post(admin, f"/console/payouts/{payout_id}/retry")  # nor is it paid again
    assert "was contradicted by the provider" in page
    assert state(app, payout_id) == ("failed", 7_000, 0, 5_000, 1)
    # An admin recovers it from the wallet: the worker owes nothing and may withdraw.
    page = post(admin, f"/console/payouts/{payout_id}/contradiction", how="recover")
    assert f"Payout {payout_id}: recovered from the wallet" in page
    assert state(app, payout_id) == ("failed", 2_000, 0, 5_000, 1)
    assert "Contradicted payouts" not in page
    assert audit(app)[-1] == (
        "payout.contradiction_resolved",
        f"payout:{payout_id}",
        {"how": "recover", "amount_minor": 5_000},
    )
    page = post(admin, f"/console/payouts/{payout_id}/contradiction", how="recover")
    assert "has no open contradiction" in page  # a second click moves nothing
    assert state(app, payout_id) == ("failed", 2_000, 0, 5_000, 1)


def _late_callback(app: Flask, payout_id: int, name: str) -> None:
    """Daraja posts its (documented) result for this payout after the operator decided."""
    body = json.loads((Path(__file__).parents[1] / "payouts" / "payloads" / name).read_text())
    with db(app) as session:
        body["Result"]["OriginatorConversationID"] = session.get_one(
            Payout, payout_id
        ).idempotency_key
    response = app.test_client().post(f"/webhooks/payouts/b2c/result?token={TOKEN}", json=body)
    assert response.status_code == 200
