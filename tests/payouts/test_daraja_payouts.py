"""Withdrawals paid through the Daraja emulator over real HTTP, callbacks to Kazi's webhooks."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from core.webhooks import WebhookEvent
from gateway.models import Message
from ledger.models import LedgerTransaction
from payouts.jobs import resolve_unknown
from payouts.models import PayoutStatus
from payouts.providers.daraja import B2C_PATH, STATUS_PATH
from payouts.providers.daraja_parsing import CONFIGURATION_CODES
from tests.emulators.daraja import FAILURE_DESCRIPTIONS, Scenario
from tests.payouts.conftest import WEBHOOK_TOKEN, Kazi
from tests.payouts.factories import wait_until, wallet_balance
from tests.support.embedded import in_process_jobs


def legs(kazi: Kazi, payout_id: int) -> list[str]:
    """The ledger transactions recorded for a payout, by kind."""
    with kazi.runtime.sessions() as session:
        rows = session.scalars(
            select(LedgerTransaction.kind).where(
                LedgerTransaction.reference.like(f"payout:{payout_id}:%")
            )
        )
        return sorted(rows)


def receipts(kazi: Kazi, payout_id: int) -> list[str]:
    """The receipt SMS bodies sent to the payout's worker."""
    payout = kazi.payout(payout_id)
    with kazi.runtime.sessions() as session:
        return list(
            session.scalars(select(Message.body).where(Message.worker_id == payout.worker_id))
        )


def balance_of(kazi: Kazi, payout_id: int) -> int:
    with kazi.runtime.sessions() as session:
        return wallet_balance(session, kazi.payout(payout_id).worker_id)


def b2c_requests(kazi: Kazi, payout_id: int) -> list:
    originator = kazi.payout(payout_id).idempotency_key
    return [
        r
        for r in kazi.emulator.received(B2C_PATH)
        if r.body["OriginatorConversationID"] == originator
    ]


def test_a_successful_payout_settles_with_receipt_and_sms(kazi: Kazi) -> None:
    payout_id = kazi.withdraw(5_000, earned=7_000)
    payout = kazi.wait_for(payout_id, PayoutStatus.SETTLED)
    [request] = b2c_requests(kazi, payout_id)
    assert request.body["Amount"] == 50
    assert request.body["PartyB"] == payout.phone.removeprefix("+")
    assert request.body["ResultURL"] == (
        f"{kazi.url}/webhooks/payouts/b2c/result?token={WEBHOOK_TOKEN}"
    )
    assert request.body["QueueTimeOutURL"] == (
        f"{kazi.url}/webhooks/payouts/b2c/timeout?token={WEBHOOK_TOKEN}"
    )
    assert payout.receipt and payout.receipt.startswith("UEM")
    assert payout.recipient_name == "JANE TEST WANJIKU"
    assert payout.completed_at is not None and payout.provider_reference is not None
    assert payout.provider_reference.startswith("AG_EMU_")
    assert legs(kazi, payout_id) == ["payout_hold", "payout_settle"]
    assert balance_of(kazi, payout_id) == 2_000
    wait_until(lambda: len(receipts(kazi, payout_id)) == 1)
    assert receipts(kazi, payout_id) == [
        f"Kazi: KES 50 sent to your M-Pesa. Ref {payout.receipt}. Thank you!"
    ]


@pytest.mark.parametrize("db_kind", ["sqlite"])
@pytest.mark.parametrize(
    "code", [c for c in FAILURE_DESCRIPTIONS if str(c) not in CONFIGURATION_CODES]
)
def test_each_documented_failure_code_fails_and_returns_the_funds(kazi: Kazi, code) -> None:
    payout_id = kazi.withdraw(5_000, scenario=Scenario(kind="failure", result_code=code))
    payout = kazi.wait_for(payout_id, PayoutStatus.FAILED)
    assert payout.result_code == str(code)
    assert payout.result_description == FAILURE_DESCRIPTIONS[code]
    assert legs(kazi, payout_id) == ["payout_hold", "payout_release"]
    assert balance_of(kazi, payout_id) == 10_000


@pytest.mark.parametrize("kind", ["success", "failure"])
def test_three_duplicate_callbacks_change_nothing(kazi: Kazi, kind: str) -> None:
    scenario = Scenario(kind=kind, result_code=0 if kind == "success" else 2040, duplicates=3)
    payout_id = kazi.withdraw(5_000, scenario=scenario)
    final = PayoutStatus.SETTLED if kind == "success" else PayoutStatus.FAILED
    kazi.wait_for(payout_id, final)
    kazi.emulator.join_callbacks()  # all three posts answered
    in_process_jobs(kazi.runtime).drain()
    leg = "payout_settle" if kind == "success" else "payout_release"
    assert legs(kazi, payout_id) == sorted(["payout_hold", leg])
    assert balance_of(kazi, payout_id) == (5_000 if kind == "success" else 10_000)
    assert len(receipts(kazi, payout_id)) == 1
    with kazi.runtime.sessions() as session:
        events = session.scalar(
            select(func.count()).select_from(WebhookEvent).where(WebhookEvent.kind == "b2c_result")
        )
    assert events == 3  # each arrival is recorded; only the first moved money


def test_a_callback_arriving_before_the_synchronous_answer_is_recorded(kazi: Kazi) -> None:
    # The emulator posts the result at once and holds its HTTP answer until we let it go.
    answer = threading.Event()
    payout_id = kazi.withdraw(5_000, scenario=Scenario(reply_after=answer))
    try:
        kazi.wait_for(payout_id, PayoutStatus.SETTLED)
        assert kazi.payout(payout_id).submitted_at is None  # the job has not heard back yet
    finally:
        answer.set()
    wait_until(lambda: kazi.payout(payout_id).submitted_at is not None)
    payout = kazi.payout(payout_id)
    assert payout.status is PayoutStatus.SETTLED and payout.provider_reference
    assert legs(kazi, payout_id) == ["payout_hold", "payout_settle"]


def test_a_synchronous_rejection_fails_and_returns_the_funds(kazi: Kazi) -> None:
    kazi.emulator.force(
        B2C_PATH,
        400,
        {
            "requestId": "r-1",
            "errorCode": "400.002.02",
            "errorMessage": "Bad Request - Invalid PartyB",
        },
    )
    payout_id = kazi.withdraw(5_000)
    payout = kazi.wait_for(payout_id, PayoutStatus.FAILED)
    assert payout.result_code == "400.002.02"
    assert legs(kazi, payout_id) == ["payout_hold", "payout_release"]
    assert balance_of(kazi, payout_id) == 10_000


@pytest.mark.parametrize(
    "scenario",
    [Scenario(kind="none", http_status=503), Scenario(kind="timeout")],
    ids=["server-error-after-processing", "queue-timeout"],
)
def test_an_unknown_outcome_is_resolved_by_a_status_query_never_a_resend(
    kazi: Kazi, scenario: Scenario
) -> None:
    payout_id = kazi.withdraw(5_000, scenario=scenario)
    payout = kazi.wait_for(payout_id, PayoutStatus.SETTLED)
    assert len(b2c_requests(kazi, payout_id)) == 1
    [query] = kazi.emulator.received(STATUS_PATH)
    assert query.body["OriginalConversationID"] == payout.idempotency_key
    assert query.body["ResultURL"].endswith("&kind=status")
    # The answer may overtake the job's own note of the query id; both end up stored.
    wait_until(lambda: kazi.payout(payout_id).status_query_id is not None)
    assert payout.receipt
    # Transaction Status reports the charge (DebitPartyCharges): posted to the fees.
    assert legs(kazi, payout_id) == ["payout_fee", "payout_hold", "payout_settle"]
    assert payout.fee_minor == 1_500


def test_a_success_after_a_failure_posts_a_receivable_and_moves_no_wallet_money(
    kazi: Kazi,
) -> None:
    payout_id = kazi.withdraw(5_000, scenario=Scenario(kind="failure", result_code=2040))
    payout = kazi.wait_for(payout_id, PayoutStatus.FAILED)
    late = {
        "Result": {
            "ResultType": 0,
            "ResultCode": 0,
            "ResultDesc": "The service request is processed successfully.",
            "OriginatorConversationID": payout.idempotency_key,
            "ConversationID": payout.provider_reference,
            "TransactionID": "UEMLATE0001",
        }
    }
    response = kazi.app.test_client().post(
        f"/webhooks/payouts/b2c/result?token={WEBHOOK_TOKEN}", json=late
    )
    assert response.status_code == 200
    assert kazi.payout(payout_id).status is PayoutStatus.FAILED
    assert kazi.payout(payout_id).contradiction == "paid_after_release"
    # The worker owes what was paid; the wallet keeps its returned money until an
    # operator decides (withdrawals are blocked meanwhile: test_resolve).
    assert legs(kazi, payout_id) == ["payout_hold", "payout_receivable", "payout_release"]
    assert balance_of(kazi, payout_id) == 10_000
    # An operator must look: reconcile names the payout.
    result = kazi.app.test_cli_runner().invoke(args=["payouts", "reconcile", "--wait", "0"])
    assert f"MISMATCH payout {payout_id} (failed, 5000): MISMATCH: the provider says settled" in (
        result.output
    )


@pytest.mark.redis
@pytest.mark.parametrize("db_kind", ["postgresql"])
def test_the_submit_job_runs_in_a_real_rq_worker_under_its_payout_job_id(
    committed_url: str, emulator, redis_client
) -> None:
    from rq import Queue

    from core.worker import run_worker
    from tests.conftest import REDIS_URL
    from tests.payouts.conftest import build_kazi

    for kazi in build_kazi(committed_url, emulator, redis_url=REDIS_URL):
        payout_id = kazi.withdraw(5_000)
        queue = Queue("payouts", connection=redis_client)
        assert queue.job_ids == [f"payout-{payout_id}"]
        run_worker(kazi.runtime, ["payouts"], burst=True)
        kazi.wait_for(payout_id, PayoutStatus.SETTLED)
        assert len(b2c_requests(kazi, payout_id)) == 1
        # The worker's token lives in Redis, shared with every other process.
        assert emulator.tokens_issued == 1


def test_a_documented_failed_status_fails_the_payout_and_returns_the_money(kazi: Kazi) -> None:
    # A 503, and the payment never ran: Transaction Status reports "Failed".
    scenario = Scenario(kind="none", result_code=1, http_status=503)
    payout_id = kazi.withdraw(5_000, scenario=scenario)
    payout = kazi.wait_for(payout_id, PayoutStatus.FAILED)
    assert payout.result_description and "Failed" in payout.result_description
    assert legs(kazi, payout_id) == ["payout_hold", "payout_release"]
    assert balance_of(kazi, payout_id) == 10_000
    assert len(b2c_requests(kazi, payout_id)) == 1
    # Nothing asks again about a final payout.
    with kazi.runtime.activated():
        resolve_unknown(payout_id)
    assert len(kazi.emulator.received(STATUS_PATH)) == 1
