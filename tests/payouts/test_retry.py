"""An operator's retry of a failed payout is a new payout, once; reconcile queues stuck ones.

On a committed database (``committed_session``): SQLite savepoints cannot nest, so
a rolled-back session would leak what these tests commit.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from core.errors import Conflict
from payouts import lifecycle
from payouts.errors import WithdrawalRefused
from payouts.models import Payout, PayoutStatus
from payouts.reconcile import queue_stuck
from payouts.withdrawals import retry_failed_payout
from tests.conftest import RecordingJobQueue
from tests.payouts.factories import earn, make_worker, wallet_balance
from tests.payouts.test_withdrawal import LIMITS, withdraw
from workers.models import Worker, WorkerStatus


def failed_payout(session: Session, amount: int = 5_000, *, earned: int = 7_000) -> Payout:
    worker = make_worker(session)
    earn(session, worker.id, earned)
    payout = withdraw(session, worker.id, amount)
    lifecycle.fail(session, payout, code="2001", description="wrong recipient")
    return payout


def retry(session: Session, payout_id: int) -> Payout:
    return retry_failed_payout(session, payout_id=payout_id, limits=LIMITS, provider="sandbox")


def test_retry_is_a_new_payout_holding_the_same_amount_again(
    committed_session: Session, sent_jobs: RecordingJobQueue
) -> None:
    session = committed_session
    failed = failed_payout(session)
    assert wallet_balance(session, failed.worker_id) == 7_000  # the failure gave it back
    session.commit()  # the first payout's own submit job goes out here
    sent_jobs.sent.clear()
    again = retry(session, failed.id)
    assert again.id != failed.id and again.retry_of_id == failed.id
    assert (again.amount_minor, again.status) == (5_000, PayoutStatus.REQUESTED)
    assert again.idempotency_key != failed.idempotency_key  # a new payment, not a resend
    assert wallet_balance(session, failed.worker_id) == 2_000
    assert failed.status is PayoutStatus.FAILED  # the old one stays final
    session.commit()
    assert [(j.func, j.args) for j in sent_jobs.sent] == [
        ("payouts.jobs.submit_payout", (again.id,))
    ]


def test_a_payout_is_retried_at_most_once(committed_session: Session) -> None:
    session = committed_session
    failed = failed_payout(session, 2_000)
    retry(session, failed.id)
    with pytest.raises(Conflict, match="already retried"):
        retry(session, failed.id)


@pytest.mark.parametrize("status", [PayoutStatus.REQUESTED, PayoutStatus.SETTLED])
def test_only_failed_payouts_are_retried(committed_session: Session, status: PayoutStatus) -> None:
    session = committed_session
    worker = make_worker(session)
    earn(session, worker.id, 5_000)
    payout = withdraw(session, worker.id, 5_000)
    if status is PayoutStatus.SETTLED:
        lifecycle.settle(session, payout, receipt="R1")
    with pytest.raises(Conflict, match="only failed payouts"):
        retry(session, payout.id)


def test_a_failure_the_provider_contradicted_is_never_retried(committed_session: Session) -> None:
    session = committed_session
    failed = failed_payout(session)
    lifecycle.settle(session, failed, receipt="LATE")  # "paid after all"
    assert failed.result_description is not None
    assert failed.result_description.startswith(lifecycle.MISMATCH)
    with pytest.raises(Conflict, match="contradicted"):
        retry(session, failed.id)


def test_retry_keeps_the_limits_and_the_block(committed_session: Session) -> None:
    session = committed_session
    failed = failed_payout(session)
    withdraw(session, failed.worker_id, 5_000)  # the worker already took the money again
    with pytest.raises(WithdrawalRefused) as info:
        retry(session, failed.id)
    assert info.value.reason == "insufficient_funds"
    blocked = failed_payout(session)
    session.get_one(Worker, blocked.worker_id).status = WorkerStatus.BLOCKED
    with pytest.raises(WithdrawalRefused) as info:
        retry(session, blocked.id)
    assert info.value.reason == "blocked"


def test_queue_stuck_sends_never_sent_payouts_and_queries_the_others(
    committed_session: Session, sent_jobs: RecordingJobQueue
) -> None:
    session = committed_session
    worker = make_worker(session)
    earn(session, worker.id, 9_000)
    never_sent = withdraw(session, worker.id, 2_000)
    attempted = withdraw(session, worker.id, 3_000)
    attempted.submit_attempts = 1
    fresh = withdraw(session, worker.id, 1_000)
    old = never_sent.created_at - timedelta(hours=1)
    never_sent.created_at = attempted.created_at = old
    session.commit()
    sent_jobs.sent.clear()
    queued = queue_stuck(session, older_than=timedelta(minutes=10))
    session.commit()
    assert {(q.payout_id, q.action) for q in queued} == {
        (never_sent.id, "submit"),
        (attempted.id, "status query"),
    }
    assert fresh.id not in {q.payout_id for q in queued}
    jobs = {(j.func, j.args) for j in sent_jobs.sent}
    assert jobs == {
        ("payouts.jobs.submit_payout", (never_sent.id,)),
        ("payouts.jobs.resolve_unknown", (attempted.id, True)),
    }
