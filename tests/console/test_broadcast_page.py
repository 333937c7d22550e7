"""Broadcast from the console: audience count, preview per language with segments and cost,
the send through the gateway's broadcast, and its progress page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from console.models import AuditEntry
from core.db import utcnow
from gateway.models import Direction, Message
from tests.console import factories as make
from tests.console.conftest import csrf_token
from tests.support.embedded import in_process_jobs

SignedIn = Callable[[str], FlaskClient]
PAGE = "/console/broadcast"
SWAHILI = "Habari! Kazi mpya zimefika leo: piga *384*12# sasa."


def _seed(app: Flask) -> None:
    now = utcnow()
    with app.extensions["kazi"].sessions.begin() as session:
        for phone, language, registered, active in (
            ("+254700000501", "en", True, True),
            ("+254700000502", "sw", True, True),
            ("+254700000503", "sw", True, True),
            ("+254700000504", "sw", False, True),  # never registered
            ("+254700000505", "fr", True, False),  # quiet for weeks
        ):
            worker = make.worker(
                session,
                phone,
                language=language,
                registered_at=now if registered else None,
                pin_hash="x" if registered else None,
            )
            seen = now if active else now - timedelta(days=40)
            make.ussd(session, seen, phone=phone, worker_id=worker.id)
        make.worker(session, "+256772000506", language="sw").country = "UG"
        # What the provider charged lately: KES 0.80 a segment.
        make.message(session, now, cost_minor=160, cost_currency="KES", segments=2)


def test_viewers_cannot_broadcast(app: Flask, signed_in: SignedIn) -> None:
    assert signed_in("viewer").get(PAGE).status_code == 403


def test_preview_counts_the_audience_per_language_with_segments_and_cost(
    app: Flask, signed_in: SignedIn
) -> None:
    _seed(app)
    since = (utcnow() - timedelta(days=7)).date().isoformat()
    query = {
        "preview": "1",
        "country": "ke",
        "active_since": since,
        "registered": "1",
        "body_en": "New tasks today: dial *384*12# now.",
        "body_sw": SWAHILI * 4,  # two segments
    }
    page = signed_in("operator").get(PAGE, query_string=query).get_data(as_text=True)
    assert 'id="audience-count">3<' in page  # KE, registered, active this week
    assert '<td class="num" data-language="en">1 (GSM-7)' in page
    assert '<td class="num" data-language="sw">2 (GSM-7)' in page
    assert "KES 0.80" in page and "KES 3.20" in page  # 1×1 and 2 workers × 2 segments
    assert "Send to 3 worker(s)" in page


def test_preview_names_every_bad_field_and_a_language_without_text(
    app: Flask, signed_in: SignedIn
) -> None:
    _seed(app)
    client = signed_in("operator")
    bad = {"preview": "1", "country": "K1", "active_since": "yesterday", "language": "de"}
    response = client.get(PAGE, query_string=bad)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "two-letter ISO code" in page and "YYYY-MM-DD" in page and "choose one of" in page
    missing = client.get(PAGE, query_string={"preview": "1", "body_sw": SWAHILI})
    assert missing.status_code == 400
    text = missing.get_data(as_text=True)
    assert "No text for the 1 worker(s) speaking en" in text and "Send to" not in text


def test_sending_queues_each_language_its_text_and_shows_progress(
    app: Flask, signed_in: SignedIn
) -> None:
    _seed(app)
    client = signed_in("operator")
    token = csrf_token(client, PAGE + "?preview=1&body_en=x")
    form = {
        "csrf_token": token,
        "country": "KE",
        "registered": "1",
        "body_en": "New tasks today.",
        "body_sw": "Kazi mpya leo.",
    }
    response = client.post(PAGE, data=form)
    assert response.status_code == 302 and "/console/broadcasts/" in response.headers["Location"]
    in_process_jobs(app.extensions["kazi"]).drain(timeout=10)
    with app.extensions["kazi"].sessions() as session:
        sent = session.execute(
            select(Message.phone, Message.body, Message.status)
            .where(Message.direction == Direction.OUTBOUND, Message.cost_minor.is_(None))
            .order_by(Message.phone)
        ).all()
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "broadcast")).one()
    assert [(phone, body) for phone, body, _ in sent] == [
        ("+254700000501", "New tasks today."),
        ("+254700000502", "Kazi mpya leo."),
        ("+254700000503", "Kazi mpya leo."),
        ("+254700000505", "New tasks today."),  # French speaker: the English text
    ]
    assert entry.details["recipients"] == {"en": 1, "fr": 1, "sw": 2}
    progress = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="broadcast-done">4 of 4<' in progress
    assert 'data-status="accepted">4<' in progress  # the console provider took them all


def test_sending_to_nobody_goes_back_to_the_preview(app: Flask, signed_in: SignedIn) -> None:
    _seed(app)
    client = signed_in("operator")
    token = csrf_token(client, PAGE + "?preview=1&body_en=x")
    form = {"csrf_token": token, "country": "HT", "body_en": "Bonjour"}
    response = client.post(PAGE, data=form)
    assert response.status_code == 302 and "preview=1" in response.headers["Location"]
    with app.extensions["kazi"].sessions() as session:
        assert (
            session.scalars(select(AuditEntry).where(AuditEntry.action == "broadcast")).all() == []
        )
    assert client.get("/console/broadcasts/999999").status_code == 404
