"""A Ugandan worker over SMS: UGX tasks only, a UGX balance, a withdrawal to MTN MoMo."""

from __future__ import annotations

import pytest
from flask import Flask

from core.money import Money
from flows.i18n import format_money
from gateway.simulated_phone import SimulatedPhone
from payouts.models import PayoutStatus
from tests.gateway.journeys import PIN, payouts_of, registered, t
from tests.gateway.web import runtime_of
from tests.payouts.factories import wait_until
from tests.tasks import factories

UGX_TASK = "Kazi ya Uganda: is this review positive?"


def ugx(amount: int) -> dict[str, object]:
    return {"amount": amount, "currency": "UGX"}


@pytest.mark.parametrize("language", ["en", "sw", "fr"])
def test_a_ugandan_worker_earns_and_withdraws_ugx_to_mtn_momo(kazi: Flask, language: str) -> None:
    phone_number = f"+2567720000{['en', 'sw', 'fr'].index(language):02d}"
    registered(kazi, phone_number, language, country="UG")
    phone = SimulatedPhone(kazi, phone_number)
    with runtime_of(kazi).sessions.begin() as session:
        owner, _ = factories.requester(session, "Kampala Ltd")
        # Open to Ugandans but paid in KES, which no rail pays a Ugandan's wallet.
        factories.project(
            session, owner, name="Nairobi", texts=["A KES task"], countries=["UG"], priority=9
        )
    [reply] = phone.sms("KAZI")
    assert reply.startswith(t("task.none", language))
    with runtime_of(kazi).sessions.begin() as session:
        factories.project(
            session, owner, texts=[UGX_TASK], answers_per_task=1, languages=[language],
            countries=["UG"], reward=Money(3_000, "UGX"), budget=Money(30_000, "UGX"),
        )  # fmt: skip
    [reply] = phone.sms("KAZI")
    assert UGX_TASK in reply
    [reply] = phone.sms("1")
    assert reply.startswith(t("task.saved", language, reward=ugx(3_000)))
    [reply] = phone.sms("BAL")
    assert format_money(ugx(3_000), language) in reply
    replies = phone.sms(f"PAY 2000 {PIN}")
    assert replies[0] == t("withdraw.done", language, amount=ugx(2_000), service="MTN MoMo")
    wait_until(lambda: payouts_of(kazi, phone_number)[0].status is PayoutStatus.SETTLED)
    [payout] = payouts_of(kazi, phone_number)
    assert (payout.amount_minor, payout.currency, payout.provider) == (2_000, "UGX", "sandbox")
    [receipt] = replies[1:] + phone.replies()  # the (instant) sandbox's receipt
    assert "UGX 2,000" in receipt and "MTN MoMo" in receipt
