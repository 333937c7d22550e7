"""UGX withdrawals paid through the MTN MoMo emulator over real HTTP, callbacks to Kazi."""

from __future__ import annotations

import multiprocessing
import os
import secrets
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from core.runtime import install
from core.webhooks import WebhookEvent
from gateway.models import Message
from kazi.app import build_kazi_runtime
from ledger.models import LedgerTransaction
from payouts.float_balance import latest_reading
from payouts.jobs import check_float, resolve_unknown, submit_payout
from payouts.models import Payout, PayoutStatus
from payouts.rails import provider_named
from payouts.withdrawals import WithdrawalLimits, request_withdrawal
from tests.conftest import make_settings
from tests.emulators.http import BackgroundServer
from tests.emulators.momo import (
    ACTIVE_PATH_PREFIX,
    FAILURE_REASONS,
    TOKEN_PATH,
    TRANSFER_PATH,
    MomoEmulator,
    Scenario,
)
from tests.payouts.factories import PIN, earn, make_worker, wait_until, wallet_balance
from tests.support.embedded import in_process_jobs

TOKEN = "momo-hook-s3cret"


@dataclass
class Kazi:
    """Kazi serving over HTTP, paying UGX through the MoMo emulator (KES stays on the sandbox)."""

    app: Any
    runtime: Any
    url: str
    emulator: MomoEmulator

    def withdraw(
        self, amount: int = 5_000, *, earned: int = 8_000, scenario: Scenario | None = None,
        hold_job: bool = False, worker_id: int | None = None, **worker: Any,
    ) -> int:  # fmt: skip
        """A Ugandan worker earns UGX ``earned`` and withdraws ``amount``; the payout's id."""
        held: list[Any] = []
        original = self.runtime.jobs.submit
        if hold_job:  # the test runs the submit job itself
            self.runtime.jobs.submit = held.append
        try:
            with self.runtime.sessions.begin() as session:
                if worker_id is None:
                    worker_id = make_worker(session, country="UG", **worker).id
                earn(session, worker_id, earned, "UGX")
                payout = request_withdrawal(
                    session, worker_id=worker_id, pin=PIN, amount_minor=amount,
                    limits=WithdrawalLimits.from_settings(self.runtime.settings, "UGX"),
                    store=self.runtime.store, provider="mtn_momo", currency="UGX",
                )  # fmt: skip
                if scenario is not None:
                    assert payout.idempotency_key is not None
                    self.emulator.scenarios[payout.idempotency_key] = scenario
                payout_id = payout.id
        finally:
            self.runtime.jobs.submit = original
        assert not hold_job or [s.job_id for s in held] == [f"payout-{payout_id}"]
        return payout_id

    def payout(self, payout_id: int) -> Payout:
        with self.runtime.sessions() as session:
            return session.get_one(Payout, payout_id)

    def wait_for(self, payout_id: int, status: PayoutStatus) -> Payout:
        wait_until(lambda: self.payout(payout_id).status is status)
        return self.payout(payout_id)

    def posts(self, payout_id: int) -> list[Any]:
        key = self.payout(payout_id).idempotency_key
        assert key is not None
        return self.emulator.transfers_posted(key)

    def legs(self, payout_id: int) -> list[str]:
        with self.runtime.sessions() as session:
            return sorted(
                session.scalars(
                    select(LedgerTransaction.kind).where(
                        LedgerTransaction.reference.like(f"payout:{payout_id}:%")
                    )
                )
            )

    def balance(self, payout_id: int) -> int:
        with self.runtime.sessions() as session:
            return wallet_balance(session, self.payout(payout_id).worker_id, "UGX")

    def sms(self, payout_id: int) -> list[str]:
        worker_id = self.payout(payout_id).worker_id
        in_process_jobs(self.runtime).drain()
        with self.runtime.sessions() as session:
            return list(session.scalars(select(Message.body).where(Message.worker_id == worker_id)))


@pytest.fixture
def emulator() -> Iterator[MomoEmulator]:
    emu = MomoEmulator()
    emu.start()
    yield emu
    emu.stop()


def _settings(committed_url: str, emulator: MomoEmulator, public_url: str) -> Any:
    return make_settings(
        database_url=committed_url,
        payout_rails=(("UGX", "mtn_momo"),),
        momo_base_url=emulator.url,
        momo_api_user=emulator.api_user,
        momo_api_key=emulator.api_key,
        momo_subscription_key=emulator.subscription_key,
        momo_target_environment=emulator.environment,
        momo_webhook_token=TOKEN,
        momo_timeout_seconds=1.0,  # the timeout test holds the answer until released
        public_base_url=public_url,
    )


@pytest.fixture
def kazi(committed_url: str, emulator: MomoEmulator) -> Iterator[Kazi]:
    from kazi.app import create_app

    holder: dict[str, Any] = {}
    server = BackgroundServer(lambda environ, start: holder["app"](environ, start))
    app = create_app(_settings(committed_url, emulator, server.url))
    holder["app"] = app
    server.start()
    runtime = app.extensions["kazi"]
    yield Kazi(app, runtime, server.url, emulator)
    emulator.join_callbacks()
    in_process_jobs(runtime).drain(timeout=10)
    server.stop()
    runtime.engine.dispose()


def test_a_successful_transfer_settles_once_with_an_mtn_momo_receipt(kazi: Kazi) -> None:
    payout_id = kazi.withdraw(5_000, earned=8_000)
    payout = kazi.wait_for(payout_id, PayoutStatus.SETTLED)
    [post] = kazi.posts(payout_id)
    assert post.headers["X-Reference-Id"] == payout.idempotency_key
    assert post.headers["X-Target-Environment"] == "mtnuganda"
    assert post.headers["X-Callback-Url"] == f"{kazi.url}/webhooks/payouts/momo?token={TOKEN}"
    assert post.body["amount"] == "5000" and post.body["currency"] == "UGX"
    assert post.body["payee"] == {"partyIdType": "MSISDN", "partyId": payout.phone[1:]}
    # The callback prompted the GET that settled it; the receipt is MTN's transaction id.
    assert kazi.emulator.received(f"{TRANSFER_PATH}/{payout.idempotency_key}", "GET")
    assert payout.receipt and payout.receipt.isdigit()
    assert kazi.legs(payout_id) == ["payout_hold", "payout_settle"]
    assert kazi.balance(payout_id) == 3_000
    assert kazi.sms(payout_id) == [
        f"Kazi: UGX 5,000 sent to your MTN MoMo. Ref {payout.receipt}. Thank you!"
    ]


@pytest.mark.parametrize("db_kind", ["sqlite"])
@pytest.mark.parametrize("reason", FAILURE_REASONS)
def test_each_documented_failure_reason_fails_and_returns_the_money(
    kazi: Kazi, reason: str
) -> None:
    payout_id = kazi.withdraw(5_000, scenario=Scenario(outcome="FAILED", reason=reason))
    payout = kazi.wait_for(payout_id, PayoutStatus.FAILED)
    assert payout.result_code == reason[:20]
    assert reason in (payout.result_description or "")
    assert kazi.legs(payout_id) == ["payout_hold", "payout_release"]
    assert kazi.balance(payout_id) == 8_000


def test_a_lost_callback_is_settled_by_the_status_poll(kazi: Kazi) -> None:
    payout_id = kazi.withdraw(5_000, scenario=Scenario(callbacks=0, pending_polls=1))
    kazi.wait_for(payout_id, PayoutStatus.SUBMITTED)
    with kazi.runtime.activated():
        resolve_unknown(payout_id)  # the poll the deadline queues: MTN still says PENDING
    assert kazi.payout(payout_id).status is PayoutStatus.UNKNOWN
    with kazi.runtime.activated():
        resolve_unknown(payout_id, True)
    payout = kazi.payout(payout_id)
    assert payout.status is PayoutStatus.SETTLED
    assert kazi.emulator.callbacks_sent == []
    assert len(kazi.posts(payout_id)) == 1
    assert kazi.legs(payout_id) == ["payout_hold", "payout_settle"]


@pytest.mark.parametrize("outcome", ["SUCCESSFUL", "FAILED"])
def test_three_duplicate_callbacks_move_the_money_once(kazi: Kazi, outcome: str) -> None:
    scenario = Scenario(outcome=outcome, reason="PAYEE_NOT_ALLOWED_TO_RECEIVE", callbacks=3)
    payout_id = kazi.withdraw(5_000, scenario=scenario)
    final = PayoutStatus.SETTLED if outcome == "SUCCESSFUL" else PayoutStatus.FAILED
    kazi.wait_for(payout_id, final)
    kazi.emulator.join_callbacks()
    in_process_jobs(kazi.runtime).drain()
    leg = "payout_settle" if outcome == "SUCCESSFUL" else "payout_release"
    assert kazi.legs(payout_id) == sorted(["payout_hold", leg])
    assert kazi.balance(payout_id) == (3_000 if outcome == "SUCCESSFUL" else 8_000)
    assert len(kazi.sms(payout_id)) == 1
    with kazi.runtime.sessions() as session:
        events = session.scalar(
            select(func.count()).select_from(WebhookEvent).where(WebhookEvent.source == "mtn_momo")
        )
    assert events == 3  # each arrival recorded; only one moved money


def test_a_timeout_on_the_transfer_is_resolved_by_get_never_a_second_transfer(
    kazi: Kazi,
) -> None:
    release = threading.Event()  # held past the client's 1 s timeout: MTN took the transfer
    payout_id = kazi.withdraw(5_000, scenario=Scenario(callbacks=0, reply_after=release))
    try:
        payout = kazi.wait_for(payout_id, PayoutStatus.SETTLED)
    finally:
        release.set()
    assert len(kazi.posts(payout_id)) == 1
    assert kazi.emulator.received(f"{TRANSFER_PATH}/{payout.idempotency_key}", "GET")
    assert kazi.legs(payout_id) == ["payout_hold", "payout_settle"]


def test_a_reference_momo_already_has_is_resolved_by_get(kazi: Kazi) -> None:
    payout_id = kazi.withdraw(5_000, scenario=Scenario(callbacks=0), hold_job=True)
    payout = kazi.payout(payout_id)
    provider = provider_named(kazi.runtime, "mtn_momo")
    from payouts.providers.base import PayoutRequest

    assert payout.idempotency_key is not None
    # An earlier attempt (another process) reached MTN and died before recording anything.
    provider.submit(PayoutRequest(payout.idempotency_key, payout.phone, 5_000, "UGX"))
    with kazi.runtime.activated():
        submit_payout(payout_id)  # attempts == 0: it sends, MTN answers 409
    kazi.wait_for(payout_id, PayoutStatus.SETTLED)
    statuses = [r for r in kazi.emulator.received(TRANSFER_PATH, "POST")]
    assert len(statuses) == 2  # the earlier one and ours, both under one reference
    assert {r.headers["X-Reference-Id"] for r in statuses} == {payout.idempotency_key}
    assert kazi.legs(payout_id) == ["payout_hold", "payout_settle"]


def _run_submit_job(settings: Any, payout_id: int) -> None:
    runtime = build_kazi_runtime(settings)
    install(runtime)
    submit_payout(payout_id)


def test_a_worker_killed_between_the_call_and_the_write_never_pays_twice(kazi: Kazi) -> None:
    answer = threading.Event()
    payout_id = kazi.withdraw(
        5_000, scenario=Scenario(callbacks=0, reply_after=answer), hold_job=True
    )
    horse = multiprocessing.get_context("fork").Process(
        target=_run_submit_job, args=(kazi.runtime.settings, payout_id)
    )
    horse.start()
    assert horse.pid is not None
    try:
        wait_until(lambda: len(kazi.posts(payout_id)) == 1)
        os.kill(horse.pid, signal.SIGKILL)
        horse.join(5)
    finally:
        answer.set()
    assert horse.exitcode == -signal.SIGKILL
    assert (kazi.payout(payout_id).status, kazi.payout(payout_id).submit_attempts) == (
        PayoutStatus.REQUESTED,
        1,
    )
    with kazi.runtime.activated():
        submit_payout(payout_id)  # rq's retry: it asks by GET, it does not resend
    kazi.wait_for(payout_id, PayoutStatus.SETTLED)
    assert len(kazi.posts(payout_id)) == 1
    assert kazi.legs(payout_id) == ["payout_hold", "payout_settle"]
    assert kazi.balance(payout_id) == 3_000


@pytest.mark.parametrize("language, words", [
    ("en", "your number has no MTN MoMo account"),
    ("sw", "nambari yako haina akaunti ya MTN MoMo"),
    ("fr", "votre numéro n'a pas de compte MTN MoMo"),
])  # fmt: skip
def test_a_number_that_cannot_receive_fails_unsent_and_tells_the_worker(
    kazi: Kazi, language: str, words: str
) -> None:
    phone = f"+25678{secrets.randbelow(10**7):07d}"
    kazi.emulator.inactive.add(phone[1:])
    payout_id = kazi.withdraw(5_000, phone=phone, language=language)
    payout = kazi.wait_for(payout_id, PayoutStatus.FAILED)
    assert payout.result_code == "PAYEE_NOT_REGISTERED"
    assert kazi.posts(payout_id) == []  # never sent
    assert kazi.emulator.received(f"{ACTIVE_PATH_PREFIX}{phone[1:]}/active")
    assert kazi.balance(payout_id) == 8_000
    [sms] = kazi.sms(payout_id)
    assert words in sms and "UGX 5,000" in sms


def test_the_account_holder_check_is_made_once_per_number(kazi: Kazi) -> None:
    first = kazi.withdraw(2_000, earned=8_000)
    kazi.wait_for(first, PayoutStatus.SETTLED)
    phone = kazi.payout(first).phone
    second = kazi.withdraw(2_000, earned=8_000, worker_id=kazi.payout(first).worker_id)
    kazi.wait_for(second, PayoutStatus.SETTLED)
    assert len(kazi.emulator.received(f"{ACTIVE_PATH_PREFIX}{phone[1:]}/active")) == 1


def test_one_token_is_shared_and_reused_across_payouts(kazi: Kazi) -> None:
    for _ in range(2):
        kazi.wait_for(kazi.withdraw(2_000), PayoutStatus.SETTLED)
    assert kazi.emulator.tokens_issued == 1
    assert len(kazi.emulator.received(TOKEN_PATH)) == 1


def test_a_callback_without_the_token_is_refused_and_moves_nothing(kazi: Kazi) -> None:
    import requests

    payout_id = kazi.withdraw(5_000, scenario=Scenario(callbacks=0))
    kazi.wait_for(payout_id, PayoutStatus.SUBMITTED)
    body = {"externalId": kazi.payout(payout_id).idempotency_key, "status": "SUCCESSFUL"}
    answer = requests.put(f"{kazi.url}/webhooks/payouts/momo?token=wrong", json=body, timeout=5)
    assert answer.status_code == 403
    bad = requests.put(f"{kazi.url}/webhooks/payouts/momo?token={TOKEN}", json={}, timeout=5)
    assert bad.status_code == 400
    assert kazi.payout(payout_id).status is PayoutStatus.SUBMITTED


def test_the_float_check_records_the_momo_balance(kazi: Kazi) -> None:
    with kazi.runtime.activated():
        check_float()
    provider = provider_named(kazi.runtime, "mtn_momo")
    with kazi.runtime.sessions() as session:
        reading = latest_reading(session, provider, 1_000_000)
    assert reading is not None
    assert (reading.available_minor, reading.currency, reading.alert) == (2_500_000, "UGX", False)
