"""Data protection by SMS: MYDATA tells a worker what Kazi holds; DELETE <PIN> forgets them,
paying out what they are owed while the ledger keeps its balanced history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import String, cast, func, select

from core.db import utcnow
from core.webhooks import WebhookEvent
from gateway.models import Direction, Message
from gateway.simulated_phone import SimulatedPhone
from kazi.privacy import purge_expired
from ledger.models import LedgerAccount, LedgerEntry
from payouts.models import Payout, PayoutStatus
from tests.gateway.journeys import PIN, fund, registered, t
from tests.gateway.web import messages, runtime_of
from tests.payouts.factories import wait_until
from tests.support.embedded import console_sms, in_process_jobs
from workers.models import Worker
from workers.services import pseudonym


@pytest.mark.parametrize("language", ["en", "sw", "fr"])
def test_mydata_sums_up_what_kazi_holds_in_the_workers_language(kazi: Flask, language: str) -> None:
    worker = registered(kazi, "+254744000001", language)
    fund(kazi, worker.id, 2_500)
    [reply] = SimulatedPhone(kazi, "+254744000001").sms("MYDATA")
    expected = t(
        "privacy.summary",
        language,
        phone="+254744000001",
        lang=language,
        since=utcnow().date().isoformat(),
        answers=0,
        balance={"amount": 2_500, "currency": "KES"},
        payouts=0,
    )
    assert reply == expected
    assert len(reply) <= 160  # one SMS segment


def test_delete_with_the_pin_pays_out_then_erases_the_number_and_texts(kazi: Flask) -> None:
    worker = registered(kazi, "+254744000002", "sw")
    fund(kazi, worker.id, 5_000)
    phone = SimulatedPhone(kazi, "+254744000002")
    phone.sms("BAL")
    assert phone.sms("DELETE") == [t("privacy.delete_usage", "sw")]
    assert phone.sms("DELETE 1111") == [t("withdraw.wrong_pin", "sw", attempts_left=2)]
    # The confirmation goes to the real number; once sent, its row holds the pseudonym too.
    assert phone.sms(f"DELETE {PIN}") == []
    sent = [m.body for m in console_sms(runtime_of(kazi)).outbox if m.to == "+254744000002"]
    assert sent[-1] == t("privacy.deleted", "sw")

    runtime = runtime_of(kazi)
    with runtime.sessions() as session:
        row = session.get_one(Worker, worker.id)
        assert row.msisdn == pseudonym(worker.id) and row.erased_at is not None
        assert row.pin_hash is None
    [payout] = _payouts(kazi, worker.id)
    assert payout.amount_minor == 5_000 and payout.phone == "+254744000002"
    wait_until(lambda: _payouts(kazi, worker.id)[0].status is PayoutStatus.SETTLED)
    in_process_jobs(runtime).drain()
    mine = [m for m in messages(kazi) if m.worker_id == worker.id]
    assert mine and all(m.phone == pseudonym(worker.id) for m in mine)
    assert all(m.body == "" for m in mine if m.direction == Direction.INBOUND)
    # No receipt SMS to a forgotten worker; the confirmation was the last word.
    outbound = [m.body for m in mine if m.direction == Direction.OUTBOUND]
    assert outbound[-1] == t("privacy.deleted", "sw")
    with runtime.sessions() as session:
        by_number = select(func.count()).select_from(Message)
        assert session.scalar(by_number.where(Message.phone == "+254744000002")) == 0
        # Raw SMS and USSD callbacks go; the payout's own callback is a financial record.
        raw = select(func.count()).where(WebhookEvent.source == "africastalking")
        assert (
            session.scalar(raw.where(cast(WebhookEvent.payload, String).contains("254744000002")))
            == 0
        )
        entries = list(session.scalars(select(LedgerEntry)))
        wallet = select(func.sum(LedgerEntry.amount_minor)).join(
            LedgerAccount, LedgerAccount.id == LedgerEntry.account_id
        )
        owed = session.scalar(wallet.where(LedgerAccount.worker_id == worker.id))
    # The ledger keeps every entry, they still sum to zero, and the wallet was paid out.
    assert entries and sum(e.amount_minor for e in entries) == 0
    assert owed == 0
    # The number is free again: a new SMS from it is a stranger's first contact.
    SimulatedPhone(kazi, "+254744000002").sms("HELP")
    with runtime.sessions() as session:
        again = session.scalars(select(Worker).where(Worker.msisdn == "+254744000002")).one()
    assert again.id != worker.id and again.registered_at is None


def test_the_retention_purge_drops_old_raw_events_and_blanks_old_bodies(kazi: Flask) -> None:
    registered(kazi, "+254744000003")
    SimulatedPhone(kazi, "+254744000003").sms("HELP")
    runtime = runtime_of(kazi)
    settings = runtime.settings
    with runtime.sessions.begin() as session:
        # Nothing is old yet: a purge now keeps everything.
        kept = purge_expired(session, settings, utcnow())
        assert (kept.webhook_events, kept.message_bodies) == (0, 0)
        later = utcnow() + timedelta(days=settings.retention_message_bodies_days, hours=1)
        purged = purge_expired(session, settings, later)
    assert purged.webhook_events >= 1 and purged.message_bodies >= 2
    assert all(m.body == "" for m in messages(kazi))
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(WebhookEvent)) == 0


def _payouts(app: Flask, worker_id: int) -> list[Payout]:
    with runtime_of(app).sessions() as session:
        return list(session.scalars(select(Payout).where(Payout.worker_id == worker_id)))
