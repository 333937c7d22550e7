"""Withdrawals: PIN, limits, balance; the payout and its hold in one transaction, job after."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kvstore import MemoryStore
from ledger.models import LedgerTransaction
from payouts.errors import WithdrawalRefused
from payouts.models import Payout, PayoutStatus
from payouts.withdrawals import WithdrawalLimits, request_withdrawal
from tests.conftest import RecordingJobQueue
from tests.payouts.factories import PIN, earn, make_worker, wallet_balance
from workers.services import pin_locked

LIMITS = WithdrawalLimits(minimum=1_000, maximum=50_000, daily_cap=60_000)


def withdraw(session: Session, worker_id: int, amount: int | None, *, pin: str = PIN, store=None):
    return request_withdrawal(
        session,
        worker_id=worker_id,
        pin=pin,
        amount_minor=amount,
        limits=LIMITS,
        store=store or MemoryStore(),
        provider="sandbox",
    )


def refusal(session: Session, worker_id: int, amount: int | None, **kw) -> str:
    with pytest.raises(WithdrawalRefused) as info:
        withdraw(session, worker_id, amount, **kw)
    return info.value.reason


def test_a_withdrawal_writes_the_payout_and_the_hold_and_queues_the_job_after_commit(
    committed_session: Session, sent_jobs: RecordingJobQueue
) -> None:
    session = committed_session
    worker = make_worker(session)
    earn(session, worker.id, 7_550)
    payout = withdraw(session, worker.id, 5_000)
    assert payout.status is PayoutStatus.REQUESTED
    # A fresh UUID v4 (MoMo's X-Reference-Id form), never derived from the reusable row id.
    assert uuid.UUID(payout.idempotency_key).version == 4
    hold = session.scalars(
        select(LedgerTransaction).where(LedgerTransaction.reference == f"payout:{payout.id}:hold")
    ).one()
    assert hold.kind == "payout_hold"
    assert wallet_balance(session, worker.id) == 2_550
    assert sent_jobs.sent == []  # nothing leaves before the commit
    session.commit()
    [job] = sent_jobs.sent
    assert (job.func, job.args, job.queue, job.job_id) == (
        "payouts.jobs.submit_payout",
        (payout.id,),
        "payouts",
        f"payout-{payout.id}",
    )


def test_the_default_amount_is_the_whole_balance_in_whole_shillings(session: Session) -> None:
    worker = make_worker(session)
    earn(session, worker.id, 7_550)
    assert withdraw(session, worker.id, None).amount_minor == 7_500
    assert wallet_balance(session, worker.id) == 50


def test_the_default_amount_respects_the_maximum(session: Session) -> None:
    worker = make_worker(session)
    earn(session, worker.id, 80_000)
    assert withdraw(session, worker.id, None).amount_minor == 50_000


@pytest.mark.parametrize(
    ("balance", "amount", "reason"),
    [
        (5_000, 900, "below_minimum"),
        (5_000, 1_050, "not_whole"),
        (90_000, 50_100, "above_maximum"),
        (5_000, 5_100, "insufficient_funds"),
        (900, None, "insufficient_funds"),
    ],
)
def test_limits_and_balance_are_checked(
    session: Session, balance: int, amount: int | None, reason: str
) -> None:
    worker = make_worker(session)
    earn(session, worker.id, balance)
    assert refusal(session, worker.id, amount) == reason
    assert wallet_balance(session, worker.id) == balance
    assert session.scalars(select(Payout).where(Payout.worker_id == worker.id)).all() == []


def test_the_daily_cap_counts_todays_payouts_but_not_failed_ones(session: Session) -> None:
    worker = make_worker(session)
    earn(session, worker.id, 100_000)
    first = withdraw(session, worker.id, 50_000)
    assert refusal(session, worker.id, 20_000) == "daily_cap"
    assert withdraw(session, worker.id, None).amount_minor == 10_000  # what the cap leaves
    assert refusal(session, worker.id, None) == "daily_cap"
    first.status = PayoutStatus.FAILED
    session.flush()
    assert withdraw(session, worker.id, 20_000).amount_minor == 20_000


def test_three_wrong_pins_lock_withdrawals_and_a_right_pin_resets_the_count(
    session: Session,
) -> None:
    store = MemoryStore()
    worker = make_worker(session)
    earn(session, worker.id, 10_000)
    assert refusal(session, worker.id, 1_000, pin="0000", store=store) == "wrong_pin"
    withdraw(session, worker.id, 1_000, store=store)  # right PIN: the count starts over
    for _ in range(2):
        assert refusal(session, worker.id, 1_000, pin="0000", store=store) == "wrong_pin"
    assert refusal(session, worker.id, 1_000, pin="0000", store=store) == "pin_locked"
    assert pin_locked(worker)
    # Locked: even the right PIN is refused until the lock expires.
    assert refusal(session, worker.id, 1_000, store=store) == "pin_locked"
    assert wallet_balance(session, worker.id) == 9_000


def test_a_worker_without_a_pin_cannot_withdraw(session: Session) -> None:
    worker = make_worker(session)
    worker.pin_hash = None
    earn(session, worker.id, 10_000)
    assert refusal(session, worker.id, 1_000) == "no_pin"
