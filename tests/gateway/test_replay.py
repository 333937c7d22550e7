"""Replay: every gateway webhook sent twice and three times has exactly the effect of once.

The effect is everything a callback can change: messages in and out (and their
statuses), USSD sessions and hops, held reports, workers' opt-outs, what was sent.
Only the raw event log grows, since it records arrivals. (Daraja's result callbacks
are replayed in tests/payouts/test_daraja_payouts.py.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from gateway.models import HeldDeliveryReport, Message, UssdSession
from tests.gateway.payloads import load_form
from tests.gateway.web import at_url, outbox, runtime_of, sent_message, twilio_post
from workers.models import Worker

Post = Callable[[Flask], Any]


def _effects(app: Flask) -> tuple[Any, ...]:
    sent = outbox(app)  # drains the job runner first
    with runtime_of(app).sessions() as session:
        messages = [
            (m.direction, m.phone, m.body, m.status, m.provider_status, m.error)
            for m in session.scalars(select(Message).order_by(Message.id))
        ]
        ussd = [
            (u.session_id, u.hops, u.seen_text, u.last_screen, u.end_status)
            for u in session.scalars(select(UssdSession).order_by(UssdSession.id))
        ]
        held = [
            (h.provider_message_id, h.provider_status)
            for h in session.scalars(select(HeldDeliveryReport))
        ]
        workers = [
            (w.msisdn, w.opted_out_at) for w in session.scalars(select(Worker).order_by(Worker.id))
        ]
    return messages, ussd, held, workers, sent


def _at(path: str, form: dict[str, str]) -> Post:
    return lambda app: app.test_client().post(at_url(path), data=form)


def _twilio(path: str, form: dict[str, str]) -> Post:
    return lambda app: twilio_post(app.test_client(), path, form)


def _undated(name: str) -> dict[str, str]:
    form = load_form(name)
    del form["id"]
    return form


def _hop(text: str) -> dict[str, str]:
    return {**load_form("at_ussd_first_dial.form"), "text": text}


def _sent(app: Flask, provider: str, form: dict[str, str], id_field: str, phone: str) -> None:
    sent_message(app, provider, form[id_field], phone)


CASES: dict[str, tuple[Callable[[Flask], None] | None, Post]] = {
    "at sms": (None, _at("sms", load_form("at_sms_inbound.form"))),
    "at sms without id": (None, _at("sms", _undated("at_sms_inbound.form"))),
    "at stop": (None, _at("sms", {**load_form("at_sms_inbound.form"), "text": "STOP"})),
    "twilio sms": (None, _twilio("sms", load_form("twilio_sms_inbound.form"))),
    "ussd first dial": (None, _at("ussd", _hop(""))),
    "ussd answer": (lambda app: _at("ussd", _hop(""))(app), _at("ussd", _hop("1"))),
    "ussd end": (
        lambda app: _at("ussd", _hop(""))(app),
        _at("ussd/events", load_form("at_ussd_end_notification.form")),
    ),
    "ussd end unknown status": (
        None,
        _at("ussd/events", {**load_form("at_ussd_end_notification.form"), "status": "Aborted"}),
    ),
    "at delivery": (
        lambda app: _sent(
            app,
            "africastalking",
            load_form("at_delivery_report_success.form"),
            "id",
            "+254711000111",
        ),
        _at("sms/delivery", load_form("at_delivery_report_success.form")),
    ),
    "at delivery held": (None, _at("sms/delivery", load_form("at_delivery_report_failed.form"))),
    "at opt-out": (None, _at("sms/optout", {"senderId": "KAZI", "phoneNumber": "+254711000111"})),
    "twilio status": (
        lambda app: _sent(
            app,
            "twilio",
            load_form("twilio_status_undelivered.form"),
            "MessageSid",
            "+254711000111",
        ),
        _twilio("sms/status", load_form("twilio_status_undelivered.form")),
    ),
}


@pytest.mark.parametrize("times", [2, 3])
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_replayed_webhook_has_one_effect(web: Flask, case: str, times: int) -> None:
    before, post = CASES[case]
    if before is not None:
        before(web)
    first = post(web)
    assert first.status_code == 200, first.get_data(as_text=True)
    once = _effects(web)
    answers = [post(web) for _ in range(times - 1)]
    assert all(a.status_code == 200 for a in answers)
    assert _effects(web) == once
    if case.startswith("ussd") and "end" not in case:
        # A retried hop gets the very screen it got the first time.
        assert {a.get_data(as_text=True) for a in answers} == {first.get_data(as_text=True)}
