"""Operators resolving an open payout by hand: same ledger legs, once; late answers flagged."""

from __future__ import annotations

import copy
import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import build_engine, build_sessionmaker, utcnow
from core.errors import Conflict, NotFound
from core.jobs import bind_jobs_to_sessions
from gateway.models import Message
from ledger import services as ledger
from ledger.models import AccountKind
from payouts import manual, outcomes
from payouts.errors import InvalidResolution
from payouts.models import Payout, PayoutStatus
from payouts.providers.daraja_callbacks import parse_b2c_result, parse_status_result
from payouts.reconcile import contradicted_payouts, ledger_mismatches
from tests.conftest import RecordingJobQueue
from tests.payouts.factories import earn, make_worker, wallet_balance
from tests.payouts.test_withdrawal import withdraw

PAYLOADS = Path(__file__).parent / "payloads"
RECEIPT = "UAF0000XY1"


def open_payout(session: Session, status: PayoutStatus = PayoutStatus.UNKNOWN) -> Payout:
    """KES 50 of a worker's KES 70 on hold; the submit attempt left no clear answer."""
    worker = make_worker(session)
    earn(session, worker.id, 7_000)
    payout = withdraw(session, worker.id, 5_000)
    payout.submit_attempts = 1
    if status is PayoutStatus.UNKNOWN:
        outcomes.mark_unknown(payout, "status query: not found")
    elif status is PayoutStatus.SUBMITTED:
        outcomes.move(payout, PayoutStatus.SUBMITTED)
    return payout


def money(session: Session, payout: Payout) -> tuple[int, int, int]:
    """(wallet, hold, disbursed) in minor units."""
    hold = ledger.payout_hold(session, payout.worker_id, "KES")
    return (
        wallet_balance(session, payout.worker_id),
        ledger.balance(session, hold).amount,
        ledger.account_total(session, AccountKind.DISBURSED, "KES").amount,
    )


def receipts(session: Session, payout: Payout) -> list[str]:
    return list(session.scalars(select(Message.body).where(Message.worker_id == payout.worker_id)))


@pytest.mark.parametrize("status", [PayoutStatus.REQUESTED, PayoutStatus.SUBMITTED, "unknown"])
def test_mark_paid_moves_the_hold_out_once_and_sends_the_receipt(
    session: Session, status: str
) -> None:
    payout = open_payout(session, PayoutStatus(status))
    assert money(session, payout) == (2_000, 5_000, 0)
    now = utcnow()
    manual.operator_settle(
        session, payout.id, " uaf0000xy1 ", "portal: Completed", now, sms_provider="console"
    )
    assert payout.status is PayoutStatus.SETTLED
    assert (payout.receipt, payout.result_code) == (RECEIPT, "manual")
    assert payout.result_description == "marked paid by an operator: portal: Completed"
    assert payout.completed_at == now
    assert money(session, payout) == (2_000, 0, 5_000)
    assert receipts(session, payout) == [
        f"Kazi: KES 50 sent to your M-Pesa. Ref {RECEIPT}. Thank you!"
    ]
    with pytest.raises(Conflict, match="already settled"):  # the double click
        manual.operator_settle(session, payout.id, RECEIPT, "again", now, sms_provider="console")
    with pytest.raises(Conflict, match="already settled"):
        manual.operator_fail(session, payout.id, "oops", now, sms_provider="console")
    assert money(session, payout) == (2_000, 0, 5_000)
    assert len(receipts(session, payout)) == 1
    assert ledger_mismatches(session) == []


def test_mark_failed_returns_the_hold_once_and_tells_the_worker(session: Session) -> None:
    payout = open_payout(session)
    manual.operator_fail(
        session, payout.id, "portal: no such payment", utcnow(), sms_provider="console"
    )
    assert payout.status is PayoutStatus.FAILED and payout.receipt is None
    assert payout.result_description == "marked failed by an operator: portal: no such payment"
    assert money(session, payout) == (7_000, 0, 0)
    assert receipts(session, payout) == [
        "Kazi: your withdrawal of KES 50 failed. The money is back in your balance."
    ]
    with pytest.raises(Conflict, match="already failed"):
        manual.operator_fail(session, payout.id, "again", utcnow(), sms_provider="console")
    with pytest.raises(Conflict, match="already failed"):
        manual.operator_settle(session, payout.id, RECEIPT, "x", utcnow(), sms_provider=None)
    assert money(session, payout) == (7_000, 0, 0)
    assert ledger_mismatches(session) == []


def test_a_never_sent_payout_may_fail_but_not_be_paid_nor_queried(
    session: Session, sent_jobs: RecordingJobQueue
) -> None:
    worker = make_worker(session)
    earn(session, worker.id, 7_000)
    payout = withdraw(session, worker.id, 5_000)  # REQUESTED, submit job not yet run
    with pytest.raises(Conflict, match="never sent"):
        manual.operator_settle(session, payout.id, RECEIPT, "x", utcnow(), sms_provider=None)
    with pytest.raises(Conflict, match="never sent"):
        manual.ask_provider(session, payout.id)
    manual.operator_fail(session, payout.id, "worker asked to cancel", utcnow(), sms_provider=None)
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
        manual.operator_settle(session, payout.id, receipt, reason, utcnow(), sms_provider=None)
    assert info.value.field == field
    assert payout.status is PayoutStatus.UNKNOWN
    assert money(session, payout) == (2_000, 5_000, 0)


def test_a_receipt_already_on_another_payout_is_refused(session: Session) -> None:
    first, second = open_payout(session), open_payout(session)
    manual.operator_settle(session, first.id, RECEIPT, "portal", utcnow(), sms_provider=None)
    with pytest.raises(Conflict, match=f"already belongs to payout {first.id}"):
        manual.operator_settle(session, second.id, RECEIPT, "portal", utcnow(), sms_provider=None)
    assert second.status is PayoutStatus.UNKNOWN
    with pytest.raises(NotFound):
        manual.operator_fail(session, 10**9, "x", utcnow(), sms_provider=None)


def test_ask_queues_a_forced_status_query(session: Session, sent_jobs: RecordingJobQueue) -> None:
    payout = open_payout(session)
    manual.ask_provider(session, payout.id)
    assert sent_jobs.sent == []  # only after commit
    session.commit()
    (job,) = [j for j in sent_jobs.sent if j.func == "payouts.jobs.resolve_unknown"]
    assert (job.args, job.queue) == ((payout.id, True), "payouts")


def _callback(name: str, payout: Payout) -> dict:
    body = copy.deepcopy(json.loads((PAYLOADS / name).read_text()))
    body["Result"]["OriginatorConversationID"] = payout.originator_id
    body["Result"]["ConversationID"] = f"AG_test_{payout.originator_id}"  # unique per payout
    return body


def test_a_late_provider_answer_contradicting_the_operator_moves_no_money(
    session: Session,
) -> None:
    failed, paid = open_payout(session), open_payout(session)
    manual.operator_fail(session, failed.id, "portal: nothing", utcnow(), sms_provider=None)
    manual.operator_settle(session, paid.id, RECEIPT, "portal", utcnow(), sms_provider=None)
    before = (money(session, failed), money(session, paid))
    # Daraja's documented success result for the failed one, failure for the paid one.
    success = parse_b2c_result(_callback("daraja_b2c_result_success.json", failed))
    failure = parse_b2c_result(_callback("daraja_b2c_result_failure.json", paid))
    assert not outcomes.apply_outcome(session, failed, success, sms_provider="console")
    assert not outcomes.apply_outcome(session, paid, failure, sms_provider="console")
    status = parse_status_result(
        json.loads((PAYLOADS / "daraja_transaction_status_result.json").read_text())
    )
    assert not outcomes.apply_status(session, failed, status, sms_provider="console")
    assert (failed.status, paid.status) == (PayoutStatus.FAILED, PayoutStatus.SETTLED)
    assert (money(session, failed), money(session, paid)) == before
    assert paid.receipt == RECEIPT
    flagged = {m.what.split()[1] for m in contradicted_payouts(session)}
    assert flagged == {str(failed.id), str(paid.id)}
    assert failed.result_description.startswith(
        "MISMATCH: the provider says settled; marked failed"
    )
    assert ledger_mismatches(session) == []
    assert receipts(session, failed) == [] and receipts(session, paid) == []
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
                manual.operator_fail(
                    session, payout_id, "portal: nothing", utcnow(), sms_provider=None
                )
            results[payout_id] = "operator first"
        except Conflict:
            results[payout_id] = "callback first"

    def callback(payout_id: int, start: threading.Barrier) -> None:
        with sessions() as session:
            body = _callback("daraja_b2c_result_success.json", session.get_one(Payout, payout_id))
        outcome = parse_b2c_result(body)
        start.wait()
        with sessions.begin() as session:  # what the webhook's service does
            payout = outcomes.lock_by_originator(session, outcome.originator_conversation_id)
            outcomes.apply_outcome(session, payout, outcome, sms_provider=None)
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
                assert payout.result_description.startswith("MISMATCH:")
            else:
                assert payout.status is PayoutStatus.SETTLED and wallet == 2_000
            assert hold == 0
        assert ledger_mismatches(session) == []
    engine.dispose()
