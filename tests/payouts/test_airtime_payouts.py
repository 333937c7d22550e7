"""Airtime payouts through Africa's Talking's SDK against a local emulator, callbacks to Kazi."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from core.webhooks import WebhookEvent
from kazi.app import create_app
from payouts.jobs import resolve_unknown
from payouts.models import PayoutStatus
from tests.conftest import make_settings
from tests.emulators.at_airtime import AirtimeEmulator, AirtimeScenario
from tests.emulators.http import BackgroundServer
from tests.payouts.conftest import Kazi
from tests.payouts.factories import wallet_balance
from tests.payouts.test_daraja_payouts import legs, receipts
from tests.support.embedded import in_process_jobs

TOKEN = "at-hook-s3cret"


@pytest.fixture
def kazi(committed_url: str, airtime: AirtimeEmulator) -> Iterator[Kazi]:
    """Kazi paying KES as airtime (PAYOUT_RAILS=KES:airtime) through the emulator."""
    holder: dict[str, Any] = {}
    server = BackgroundServer(lambda environ, start: holder["app"](environ, start))
    app = create_app(
        make_settings(
            database_url=committed_url, payout_rails=(("KES", "airtime"),),
            at_username=airtime.username, at_api_key=airtime.api_key,
            at_webhook_token=TOKEN, at_airtime_base_url=airtime.url,
        )
    )  # fmt: skip
    holder["app"] = app
    server.start()
    airtime.callback_url = f"{server.url}/webhooks/payouts/airtime?token={TOKEN}"
    runtime = app.extensions["kazi"]
    yield Kazi(app, runtime, server.url, airtime)  # type: ignore[arg-type]  # an AT emulator
    airtime.join_callbacks()
    in_process_jobs(runtime).drain(timeout=10)
    server.stop()
    runtime.engine.dispose()


def withdraw(kazi: Kazi, airtime: AirtimeEmulator, scenario: AirtimeScenario | None = None) -> int:
    """A Kenyan worker withdraws KES 50 as airtime; the emulator plays ``scenario``."""
    from payouts.withdrawals import WithdrawalLimits, request_withdrawal
    from tests.payouts.factories import PIN, earn, make_worker

    with kazi.runtime.sessions.begin() as session:
        worker = make_worker(session)
        if scenario is not None:
            airtime.scenarios[worker.msisdn] = scenario
        earn(session, worker.id, 8_000)
        payout = request_withdrawal(
            session, worker_id=worker.id, pin=PIN, amount_minor=5_000,
            limits=WithdrawalLimits.from_settings(kazi.runtime.settings),
            store=kazi.runtime.store, provider="airtime",
        )  # fmt: skip
        return payout.id


def balance_of(kazi: Kazi, payout_id: int) -> int:
    with kazi.runtime.sessions() as session:
        return wallet_balance(session, kazi.payout(payout_id).worker_id)


def test_airtime_is_final_only_when_the_callback_says_success(
    kazi: Kazi, airtime: AirtimeEmulator
) -> None:
    payout_id = withdraw(kazi, airtime, AirtimeScenario(callbacks=0))
    payout = kazi.wait_for(payout_id, PayoutStatus.SUBMITTED)  # "Sent" is not delivered
    [sent] = airtime.sends
    assert sent["phoneNumber"] == payout.phone and sent["amount"] == "KES 50"
    [request] = [r for r in airtime.requests if r.path.endswith("/send")]
    assert request.headers["Idempotency-Key"] == payout.idempotency_key
    assert payout.provider_reference == sent["requestId"]
    body = {"requestId": sent["requestId"], "status": "Success", "description": "ok"}
    url = f"{kazi.url}/webhooks/payouts/airtime?token={TOKEN}"
    assert requests.post(url, data=body, timeout=5).status_code == 200
    payout = kazi.payout(payout_id)
    assert payout.status is PayoutStatus.SETTLED and payout.receipt == sent["requestId"]
    assert legs(kazi, payout_id) == ["payout_hold", "payout_settle"]
    assert balance_of(kazi, payout_id) == 3_000
    in_process_jobs(kazi.runtime).drain()
    assert receipts(kazi, payout_id) == [
        f"Kazi: KES 50 sent to your airtime. Ref {sent['requestId']}. Thank you!"
    ]


def test_ats_discount_is_posted_to_the_fee_account_once(
    kazi: Kazi, airtime: AirtimeEmulator
) -> None:
    from ledger import services as ledger
    from ledger.models import AccountKind

    payout_id = withdraw(kazi, airtime, AirtimeScenario(callbacks=2))
    kazi.wait_for(payout_id, PayoutStatus.SETTLED)
    airtime.join_callbacks()
    in_process_jobs(kazi.runtime).drain()
    assert airtime.sends[0]["discount"] == "KES 2.0000"  # 4% of KES 50
    assert legs(kazi, payout_id) == ["payout_discount", "payout_hold", "payout_settle"]
    with kazi.runtime.sessions() as session:
        fees = ledger.account_total(session, AccountKind.FEES, "KES").amount
        disbursed = ledger.account_total(session, AccountKind.DISBURSED, "KES").amount
    assert (fees, disbursed) == (200, 5_000)  # the face value still left through the rail


def test_a_failed_callback_returns_the_money(kazi: Kazi, airtime: AirtimeEmulator) -> None:
    payout_id = withdraw(kazi, airtime, AirtimeScenario(status="Failed"))
    kazi.wait_for(payout_id, PayoutStatus.FAILED)
    assert legs(kazi, payout_id) == ["payout_hold", "payout_release"]
    assert balance_of(kazi, payout_id) == 8_000


def test_three_duplicate_callbacks_move_the_money_once(
    kazi: Kazi, airtime: AirtimeEmulator
) -> None:
    payout_id = withdraw(kazi, airtime, AirtimeScenario(callbacks=3))
    kazi.wait_for(payout_id, PayoutStatus.SETTLED)
    airtime.join_callbacks()
    assert legs(kazi, payout_id) == ["payout_discount", "payout_hold", "payout_settle"]
    with kazi.runtime.sessions() as session:
        events = session.scalar(
            select(func.count()).select_from(WebhookEvent).where(WebhookEvent.source == "airtime")
        )
    assert events == 3


def test_a_synchronous_refusal_fails_unsent(kazi: Kazi, airtime: AirtimeEmulator) -> None:
    payout_id = withdraw(kazi, airtime, AirtimeScenario(refuse="Invalid phone number"))
    payout = kazi.wait_for(payout_id, PayoutStatus.FAILED)
    assert payout.result_code == "airtime_refused" and airtime.sends == []
    assert balance_of(kazi, payout_id) == 8_000


def test_a_lost_callback_keeps_the_money_on_hold(kazi: Kazi, airtime: AirtimeEmulator) -> None:
    payout_id = withdraw(kazi, airtime, AirtimeScenario(callbacks=0))
    kazi.wait_for(payout_id, PayoutStatus.SUBMITTED)
    with kazi.runtime.activated():
        resolve_unknown(payout_id)  # AT has no airtime status query: nothing is proven
    assert kazi.payout(payout_id).status is PayoutStatus.UNKNOWN
    assert legs(kazi, payout_id) == ["payout_hold"]
    assert len(airtime.sends) == 1  # and never sent again


def test_a_callback_without_the_token_is_refused(kazi: Kazi, airtime: AirtimeEmulator) -> None:
    payout_id = withdraw(kazi, airtime, AirtimeScenario(callbacks=0))
    kazi.wait_for(payout_id, PayoutStatus.SUBMITTED)
    body = {"requestId": airtime.sends[0]["requestId"], "status": "Success"}
    url = f"{kazi.url}/webhooks/payouts/airtime?token=wrong"
    assert requests.post(url, data=body, timeout=5).status_code == 403
    bad = requests.post(f"{kazi.url}/webhooks/payouts/airtime?token={TOKEN}", data={}, timeout=5)
    assert bad.status_code == 400
    assert kazi.payout(payout_id).status is PayoutStatus.SUBMITTED


@pytest.fixture
def small_amounts_as_airtime(committed_url: str, airtime: AirtimeEmulator) -> Iterator[Any]:
    """M-Pesa's stand-in (the sandbox) for KES, airtime for KES 5 to 9.99 (PAYOUT_AIRTIME_LIMITS)."""
    holder: dict[str, Any] = {}
    server = BackgroundServer(lambda environ, start: holder["app"](environ, start))
    app = create_app(
        make_settings(
            database_url=committed_url, payout_airtime_limits=(("KES", 500, 999, 2_000),),
            at_username=airtime.username, at_api_key=airtime.api_key, at_webhook_token=TOKEN,
            at_airtime_base_url=airtime.url, payout_sandbox_delay_seconds=0.0,
        )
    )  # fmt: skip
    holder["app"] = app
    server.start()
    airtime.callback_url = f"{server.url}/webhooks/payouts/airtime?token={TOKEN}"
    yield app
    airtime.join_callbacks()
    in_process_jobs(app.extensions["kazi"]).drain(timeout=10)
    server.stop()
    app.extensions["kazi"].engine.dispose()


def test_an_amount_below_the_mobile_money_minimum_goes_as_airtime(
    small_amounts_as_airtime: Any, airtime: AirtimeEmulator
) -> None:
    from gateway.simulated_phone import SimulatedPhone
    from tests.gateway.journeys import PIN, fund, payouts_of, registered
    from tests.payouts.factories import wait_until

    app = small_amounts_as_airtime
    worker = registered(app, "+254733555001")
    fund(app, worker.id, 2_000)  # KES 20
    phone = SimulatedPhone(app, "+254733555001")
    phone.sms(f"PAY 5 {PIN}")  # below M-Pesa's KES 10: airtime
    phone.sms(f"PAY 10 {PIN}")  # M-Pesa's (here the sandbox's)
    wait_until(lambda: {p.status for p in payouts_of(app, phone.phone)} == {PayoutStatus.SETTLED})
    paid = sorted((p.amount_minor, p.provider) for p in payouts_of(app, phone.phone))
    assert paid == [(500, "airtime"), (1_000, "sandbox")]
    assert [s["amount"] for s in airtime.sends] == ["KES 5"]
