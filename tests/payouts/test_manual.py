"""Operators resolving an open payout by hand: same ledger legs, once; late answers flagged."""

from __future__ import annotations

import copy
import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from core.db import build_engine, build_sessionmaker, utcnow
from core.errors import Conflict, NotFound
from core.jobs import bind_jobs_to_sessions
from ledger import payout_postings
from ledger import services as ledger
from ledger.models import AccountKind
from payouts import lifecycle, manual
from payouts.errors import InvalidResolution
from payouts.models import Payout, PayoutStatus
from payouts.providers.daraja_parsing import parse_b2c_result, parse_status_result
from payouts.reconcile import contradicted_payouts, ledger_mismatches
from tests.conftest import RecordingJobQueue
from tests.payouts.factories import earn, make_worker, wallet_balance
from tests.payouts.test_withdrawal import withdraw
from tests.support.jobs import queued_notices

PAYLOADS = Path(__file__).parent / "payloads"
RECEIPT = "UAF0000XY1"


def open_payout(session: Session, status: PayoutStatus = PayoutStatus.UNKNOWN) -> Payout:
    """KES 50 of a worker's KES 70 on hold; the submit attempt left no clear answer."""
    worker = make_worker(session)
    earn(session, worker.id, 7_000)
    payout = withdraw(session, worker.id, 5_000)
    payout.submit_attempts = 1
    if status is PayoutStatus.UNKNOWN:
        lifecycle.mark_unknown(payout, "status query: not found")
    elif status is PayoutStatus.SUBMITTED:
        lifecycle.move(payout, PayoutStatus.SUBMITTED)
    return payout


def money(session: Session, payout: Payout) -> tuple[int, int, int]:
    """(wallet, hold, disbursed) in minor units."""
    hold = payout_postings.payout_hold(session, payout.worker_id, "KES")
    return (
        wallet_balance(session, payout.worker_id),
        ledger.balance(session, hold).amount,
        ledger.account_total(session, AccountKind.DISBURSED, "KES").amount,
    )


def receipts(session: Session, payout: Payout) -> list[str]:
    """The receipts queued for the payout's worker, as the worker will read them."""
    return queued_notices(session, payout.worker_id)


@pytest.mark.parametrize("status", [PayoutStatus.REQUESTED, PayoutStatus.SUBMITTED, "unknown"])
def test_mark_paid_moves_the_hold_out_once_and_sends_the_receipt(
    session: Session, status: str
) -> None:
    payout = open_payout(session, PayoutStatus(status))
    assert money(session, payout) == (2_000, 5_000, 0)
    now = utcnow()
    manual.operator_settle(session, payout.id, " uaf0000xy1 ", "portal: Completed", now)
    assert payout.status is PayoutStatus.SETTLED
    assert (payout.receipt, payout.result_code) == (RECEIPT, "manual")
    assert payout.result_description == "marked paid by an operator: portal: Completed"
    assert payout.completed_at == now
    assert money(session, payout) == (2_000, 0, 5_000)
    assert receipts(session, payout) == [
        f"Kazi: KES 50 sent to your M-Pesa. Ref {RECEIPT}. Thank you!"
    ]
    with pytest.raises(Conflict, match="already settled"):  # the double click
        manual.operator_settle(session, payout.id, RECEIPT, "again", now)
    with pytest.raises(Conflict, match="already settled"):
        manual.operator_fail(session, payout.id, "oops", now)
    assert money(session, payout) == (2_000, 0, 5_000)
    assert len(receipts(session, payout)) == 1
    assert ledger_mismatches(session) == []


def test_mark_failed_returns_the_hold_once_and_tells_the_worker(session: Session) -> None:
    payout = open_payout(session)
    manual.operator_fail(session, payout.id, "portal: no such payment", utcnow())
    assert payout.status is PayoutStatus.FAILED and payout.receipt is None
    assert payout.result_description == "marked failed by an operator: portal: no such payment"
    assert money(session, payout) == (7_000, 0, 0)
    assert receipts(session, payout) == [
        "Kazi: your withdrawal of KES 50 failed. The money is back in your balance."
    ]
    with pytest.raises(Conflict, match="already failed"):
        manual.operator_fail(session, payout.id, "again", utcnow())
    with pytest.raises(Conflict, match="already failed"):
        manual.operator_settle(session, payout.id, RECEIPT, "x", utcnow())
    assert money(session, payout) == (7_000, 0, 0)
    assert ledger_mismatches(session) == []


def test_a_never_sent_payout_may_fail_but_not_be_paid_nor_queried(
    session: Session, sent_jobs: RecordingJobQueue
) -> None:
    worker = make_worker(session)
    earn(session, worker.id, 7_000)
    payout = withdraw(session, worker.id, 5_000)  # REQUESTED, submit job not yet run
    with pytest.raises(Conflict, match="never sent"):
        manual.operator_settle(session, payout.id, RECEIPT, "x", utcnow())
    with pytest.raises(Conflict, match="never sent"):
        manual.ask_provider(session, payout.id)
    manual.operator_fail(session, payout.id, "worker asked to cancel", utcnow())
    assert money(session, payout) == (7_000, 0, 0)


@pytest.mark.parametrize(
    ("receipt", "reason", "field"),
    [
        ("UAF0000XY", "ok", "receipt"),  # 9 characters
        ("UAF0000XY12", "ok", "receipt"),
        ("UAF-000XY1", "ok", "receipt"),
        ("", "ok", "receipt"),
        (RECEIPT, "   ", "reason"),
        (RECEIPT, "x" * 201, "reason"),
    ],
)
def test_a_bad_receipt_or_reason_is_refused_and_moves_nothing(
    session: Session, receipt: str, reason: str, field: str
) -> None:
    payout = open_payout(session)
    with pytest.raises(InvalidResolution) as info:
        manual.operator_settle(session, payout.id, receipt, reason, utcnow())
    assert info.value.field == field
    assert payout.status is PayoutStatus.UNKNOWN
    assert money(session, payout) == (2_000, 5_000, 0)


def test_a_receipt_already_on_another_payout_is_refused(session: Session) -> None:
    first, second = open_payout(session), open_payout(session)
    manual.operator_settle(session, first.id, RECEIPT, "portal", utcnow())
    with pytest.raises(Conflict, match=f"already belongs to payout {first.id}"):
        manual.operator_settle(session, second.id, RECEIPT, "portal", utcnow())
    assert second.status is PayoutStatus.UNKNOWN
    with pytest.raises(NotFound):
        manual.operator_fail(session, 10**9, "x", utcnow())


def test_ask_queues_a_forced_status_query(session: Session, sent_jobs: RecordingJobQueue) -> None:
    payout = open_payout(session)
    manual.ask_provider(session, payout.id)
    assert sent_jobs.sent == []  # only after commit
    session.commit()
    (job,) = [j for j in sent_jobs.sent if j.func == "payouts.jobs.resolve_unknown"]
    assert (job.args, job.queue) == ((payout.id, True), "payouts")


def _callback(name: str, payout: Payout) -> dict:
    body = copy.deepcopy(json.loads((PAYLOADS / name).read_text()))
    body["Result"]["OriginatorConversationID"] = payout.idempotency_key
    body["Result"]["ConversationID"] = f"AG_test_{payout.idempotency_key}"  # unique per payout
    # One M-Pesa transaction per payout: receipts are unique in the database too.
    receipt = f"UAF{payout.id:07d}"
    if body["Result"].get("TransactionID"):
        body["Result"]["TransactionID"] = receipt
    for parameter in body["Result"].get("ResultParameters", {}).get("ResultParameter", []):
        if parameter["Key"] == "TransactionReceipt":
            parameter["Value"] = receipt
    return body


def test_a_late_provider_answer_contradicting_the_operator_moves_no_money(
    session: Session,
) -> None:
    failed, paid = open_payout(session), open_payout(session)
    manual.operator_fail(session, failed.id, "portal: nothing", utcnow())
    manual.operator_settle(session, paid.id, RECEIPT, "portal", utcnow())
    before = (money(session, failed), money(session, paid))
    # Daraja's documented success result for the failed one, failure for the paid one.
    success = parse_b2c_result(_callback("daraja_b2c_result_success.json", failed))
    failure = parse_b2c_result(_callback("daraja_b2c_result_failure.json", paid))
    assert not lifecycle.apply_result(session, failed, success)
    assert not lifecycle.apply_result(session, paid, failure)
    status = parse_status_result(
        json.loads((PAYLOADS / "daraja_transaction_status_result.json").read_text())
    )
    assert not lifecycle.apply_status(session, failed, status)
    assert (failed.status, paid.status) == (PayoutStatus.FAILED, PayoutStatus.SETTLED)
    # The wallets and holds stay as they were; the late success left through the rail
    # (disbursed) and is owed by the worker (a receivable), once for all answers.
    after = (money(session, failed), money(session, paid))
    assert [m[:2] for m in after] == [m[:2] for m in before]
    assert after[0][2] == before[0][2] + failed.amount_minor
    assert (
        payout_postings.owed_by_worker(session, failed.worker_id, "KES").amount
        == failed.amount_minor
    )
    assert payout_postings.owed_by_worker(session, paid.worker_id, "KES").amount == 0
    assert failed.contradiction == "paid_after_release" and paid.contradiction is None
    assert paid.receipt == RECEIPT
    flagged = {m.what.split()[1] for m in contradicted_payouts(session)}
    assert flagged == {str(failed.id), str(paid.id)}
    assert failed.result_description is not None
    assert failed.result_description.startswith(
        "MISMATCH: the provider says settled; marked failed"
    )
    assert ledger_mismatches(session) == []
    # One receipt each, from the operator's decision; none from the contradicting answers.
    assert len(receipts(session, failed)) == 1 and len(receipts(session, paid)) == 1
    assert paid.completed_at is not None
    assert utcnow() - paid.completed_at < timedelta(minutes=1)


def test_an_operator_racing_the_callback_moves_the_money_once(committed_url: str) -> None:
    engine = build_engine(committed_url)
    sessions = build_sessionmaker(engine)
    bind_jobs_to_sessions(sessions, RecordingJobQueue())
    with sessions.begin() as session:
        ids = [open_payout(session).id for _ in range(6)]
    results: dict[int, str] = {}
    callbacks_done: list[int] = []

    def operator(payout_id: int, start: threading.Barrier) -> None:
        start.wait()
        try:
            with sessions.begin() as session:
                manual.operator_fail(session, payout_id, "portal: nothing", utcnow())
            results[payout_id] = "operator first"
        except Conflict:
            results[payout_id] = "callback first"

    def callback(payout_id: int, start: threading.Barrier) -> None:
        with sessions() as session:
            body = _callback("daraja_b2c_result_success.json", session.get_one(Payout, payout_id))
        outcome = parse_b2c_result(body)
        start.wait()
        with sessions.begin() as session:  # what the webhook's service does
            payout = lifecycle.lock_by_key(session, outcome.idempotency_key)
            assert payout is not None
            lifecycle.apply_result(session, payout, outcome)
        callbacks_done.append(payout_id)

    for payout_id in ids:
        start = threading.Barrier(2)
        pool = [threading.Thread(target=f, args=(payout_id, start)) for f in (operator, callback)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join(30)
    assert sorted(callbacks_done) == sorted(ids) and set(results) == set(ids)
    with sessions() as session:
        for payout_id in ids:
            payout = session.get_one(Payout, payout_id)
            wallet, hold, _ = money(session, payout)
            if results[payout_id] == "operator first":
                assert payout.status is PayoutStatus.FAILED and wallet == 7_000
                assert payout.result_description is not None
                assert payout.result_description.startswith("MISMATCH:")
            else:
                assert payout.status is PayoutStatus.SETTLED and wallet == 2_000
            assert hold == 0
        assert ledger_mismatches(session) == []
    engine.dispose()
