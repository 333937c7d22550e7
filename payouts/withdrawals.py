"""Withdrawals: a worker's request becomes a payout row and a ledger hold, in one transaction.

Nothing here calls a provider. ``request_withdrawal`` checks the PIN, the limits and
the balance with the worker's wallet locked, writes the payout and its hold, and
queues the submit job to be sent only after the caller commits. The job id is
derived from the payout, so the same payout is never queued twice under two ids.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from rq import Retry
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from config.settings import Settings
from core.db import utcnow
from core.errors import Conflict, NotFound
from core.jobs import enqueue
from core.kvstore import KeyValueStore
from core.localtime import local_midnight, zone_of_phone
from core.money import MINOR_UNITS, Money
from ledger import payout_postings
from ledger import services as ledger
from payouts.errors import WithdrawalRefused
from payouts.lifecycle import MISMATCH, lock_payout
from payouts.models import Payout, PayoutStatus
from workers import services as workers
from workers.errors import PinRefused
from workers.models import Worker

#: The wallet a withdrawal draws from when none is named (M-Pesa's Kenyan shillings).
PAYOUT_CURRENCY = "KES"
#: The provider call is retried by rq only when nothing reached the provider.
SUBMIT_RETRY = Retry(max=3, interval=[10, 60, 300])


@dataclass(frozen=True)
class WithdrawalLimits:
    """Per-payout minimum and maximum and the per-worker daily cap, in minor units, and
    how many withdrawals a worker may make a day (None: no count limit)."""

    minimum: int
    maximum: int
    daily_cap: int
    daily_withdrawals: int | None = None

    @classmethod
    def from_settings(cls, settings: Settings, currency: str = PAYOUT_CURRENCY) -> WithdrawalLimits:
        """The limits configured for withdrawals in ``currency`` (PAYOUT_LIMITS beyond KES)."""
        for code, minimum, maximum, cap in settings.payout_limits:
            if code == currency:
                return cls(minimum, maximum, cap)
        return cls(
            settings.payout_min_minor,
            settings.payout_max_minor,
            settings.payout_daily_cap_minor,
            settings.payout_daily_withdrawals,
        )


def request_withdrawal(
    session: Session,
    *,
    worker_id: int,
    pin: str,
    amount_minor: int | None,
    limits: WithdrawalLimits,
    store: KeyValueStore,
    provider: str,
    pin_lock_minutes: float = 30.0,
    now: datetime | None = None,
    currency: str = PAYOUT_CURRENCY,
) -> Payout:
    """Record a withdrawal from the ``currency`` wallet (default: the whole balance in whole
    major units) and its hold; ``limits`` and ``provider`` are that currency's.

    Daily limits count from midnight in the worker's country (``core.localtime``).
    """
    now = now or utcnow()
    worker = session.get_one(Worker, worker_id)
    # The worker's row lock first: a concurrent withdrawal by the same worker waits
    # here, so today's count of withdrawals (and the PIN lock) cannot be read stale.
    workers.lock_by_phone(session, worker.msisdn)
    session.refresh(worker)
    if not workers.may_withdraw(worker):
        raise WithdrawalRefused("blocked", "this worker's account is blocked")
    check_pin(session, store, worker, pin, lock_minutes=pin_lock_minutes, now=now)
    if _under_review(session, worker.id):
        raise WithdrawalRefused(
            "under_review", "a payout of this worker waits for an operator's review"
        )
    since = local_midnight(zone_of_phone(worker.msisdn), now)
    _check_count(session, worker.id, since, limits)
    # Locked before reading anything about money, so the balance cannot be read stale.
    wallet = ledger.lock_wallet(session, worker.id, currency)
    available = ledger.balance(session, wallet).amount
    withdrawn_today = _withdrawn_since(session, worker.id, since, currency)
    amount = amount_minor
    if amount is None:
        amount = min(available, limits.maximum, limits.daily_cap - withdrawn_today)
        amount -= amount % MINOR_UNITS[currency]  # whole major units, rounded down
    _check_amount(amount, available, withdrawn_today, limits, currency)
    return _new_payout(session, worker, Money(amount, currency), provider)


def _new_payout(
    session: Session, worker: Worker, amount: Money, provider: str, retry_of: int | None = None
) -> Payout:
    """Write a checked payout and its hold, and queue its submit job after commit."""
    payout = Payout(
        worker_id=worker.id,
        phone=worker.msisdn,
        amount_minor=amount.amount,
        currency=amount.currency,
        status=PayoutStatus.REQUESTED,
        provider=provider,
        retry_of_id=retry_of,
    )
    session.add(payout)
    session.flush()
    # A random UUID v4, not the row id: a restored or re-created database reuses ids, and
    # the provider remembers old ones (a reused id would be "found paid" by a status
    # query). MoMo requires this form for X-Reference-Id; Daraja takes any string.
    payout.idempotency_key = str(uuid.uuid4())
    payout_postings.hold_payout(
        session, payout_id=payout.id, worker_id=worker.id, amount=_money(payout)
    )
    queue_submit(session, payout.id)
    return payout


def retry_failed_payout(
    session: Session, *, payout_id: int, limits: WithdrawalLimits, provider: str
) -> Payout:
    """Pay a failed payout's amount again as a NEW payout (an operator's action, no PIN).

    A failed payout is final and its money is back in the wallet, so it is never
    resent: resending its originator id could only be found "already failed". The new
    payout goes through the same wallet lock, limits and hold as a worker's own
    withdrawal. It is refused when the provider contradicted the failure (the money
    may have been paid) and when the payout was already retried: ``retry_of_id`` is
    unique, so even two operators clicking at once create one retry.
    """
    failed = lock_payout(session, payout_id)
    if failed is None:
        raise NotFound(f"no payout {payout_id}")
    if failed.status is not PayoutStatus.FAILED:
        raise Conflict(f"payout {payout_id} is {failed.status}; only failed payouts are retried")
    if (failed.result_description or "").startswith(MISMATCH):
        raise Conflict(f"payout {payout_id} was contradicted by the provider; reconcile it first")
    if session.scalar(select(Payout.id).where(Payout.retry_of_id == payout_id)) is not None:
        raise Conflict(f"payout {payout_id} was already retried")
    worker = session.get_one(Worker, failed.worker_id)
    if not workers.may_withdraw(worker):
        raise WithdrawalRefused("blocked", "this worker's account is blocked")
    wallet = ledger.lock_wallet(session, worker.id, failed.currency)
    available = ledger.balance(session, wallet).amount
    since = local_midnight(zone_of_phone(worker.msisdn), utcnow())
    withdrawn_today = _withdrawn_since(session, worker.id, since, failed.currency)
    _check_amount(failed.amount_minor, available, withdrawn_today, limits, failed.currency)
    return _new_payout(session, worker, _money(failed), provider, retry_of=payout_id)


def queue_submit(session: Session, payout_id: int) -> None:
    """Send the payout's submit job after commit, under the job id derived from the payout."""
    enqueue(
        session,
        "payouts.jobs.submit_payout",
        payout_id,
        queue="payouts",
        job_id=f"payout-{payout_id}",
        retry=SUBMIT_RETRY,
    )


def check_pin(
    session: Session,
    store: KeyValueStore,
    worker: Worker,
    pin: str,
    *,
    lock_minutes: float,
    now: datetime | None = None,
) -> None:
    """The worker's PIN check (``workers.services``), its refusal worded as a withdrawal's."""
    try:
        workers.check_pin(session, store, worker, pin, lock_minutes=lock_minutes, now=now)
    except PinRefused as refused:
        details = {"attempts_left": refused.attempts_left} if refused.reason == "wrong_pin" else {}
        raise WithdrawalRefused(refused.reason, refused.message, **details) from None


def _check_amount(
    amount: int, available: int, withdrawn_today: int, limits: WithdrawalLimits, currency: str
) -> None:
    if amount % MINOR_UNITS[currency]:
        raise WithdrawalRefused("not_whole", "mobile money pays whole units", amount=amount)
    if available < limits.minimum:
        raise WithdrawalRefused(
            "insufficient_funds", "balance below the minimum withdrawal", balance=available
        )
    if withdrawn_today + max(amount, limits.minimum) > limits.daily_cap:
        left = max(limits.daily_cap - withdrawn_today, 0)
        raise WithdrawalRefused("daily_cap", "daily withdrawal limit reached", left=left)
    if amount < limits.minimum:
        raise WithdrawalRefused("below_minimum", "amount below the minimum", minimum=limits.minimum)
    if amount > limits.maximum:
        raise WithdrawalRefused("above_maximum", "amount above the maximum", maximum=limits.maximum)
    if amount > available:
        raise WithdrawalRefused("insufficient_funds", "balance too low", balance=available)


def _check_count(
    session: Session, worker_id: int, since: datetime, limits: WithdrawalLimits
) -> None:
    if limits.daily_withdrawals is None:
        return
    count = session.scalar(select(func.count()).where(*_counted(worker_id, since)))
    if (count or 0) >= limits.daily_withdrawals:
        raise WithdrawalRefused(
            "daily_withdrawals",
            "daily number of withdrawals reached",
            limit=limits.daily_withdrawals,
        )


def _withdrawn_since(session: Session, worker_id: int, since: datetime, currency: str) -> int:
    """What the worker withdrew in ``currency`` since ``since``; failed payouts gave it back."""
    total = session.scalar(
        select(func.coalesce(func.sum(Payout.amount_minor), 0)).where(
            *_counted(worker_id, since), Payout.currency == currency
        )
    )
    return int(total or 0)


def _counted(worker_id: int, since: datetime) -> tuple[ColumnElement[bool], ...]:
    """The worker's payouts that count against today's limits: all but the failed ones."""
    return (
        Payout.worker_id == worker_id,
        Payout.created_at >= since,
        Payout.status != PayoutStatus.FAILED,
    )


def _under_review(session: Session, worker_id: int) -> bool:
    """A payout the provider contradicted (paid after the money was returned, another
    amount) blocks withdrawals until an operator resolves it."""
    stmt = select(Payout.id).where(
        Payout.worker_id == worker_id,
        Payout.contradiction.is_not(None),
        Payout.contradiction_resolved_at.is_(None),
    )
    return session.scalar(stmt.limit(1)) is not None


def stuck_payouts(session: Session, *, older_than: timedelta) -> list[Payout]:
    """Open payouts with no final outcome for longer than ``older_than``, oldest first."""
    cutoff = utcnow() - older_than
    stmt = (
        select(Payout)
        .where(
            Payout.status.in_(
                [PayoutStatus.REQUESTED, PayoutStatus.SUBMITTED, PayoutStatus.UNKNOWN]
            ),
            Payout.created_at < cutoff,
        )
        .order_by(Payout.created_at)
    )
    return list(session.scalars(stmt))


def _money(payout: Payout) -> Money:
    return Money(payout.amount_minor, payout.currency)
