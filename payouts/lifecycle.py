"""The payout lifecycle: one declared transition table, and the money legs each move makes.

Every move happens with the payout row locked, so a callback, the submit job and a
status query racing on one payout are applied one after another. Final states are
final: a duplicate callback finds the payout already there and changes nothing, and
the ledger's references (``payout:{id}:settle`` / ``:release``) make each leg
impossible to record twice even if that guard were bypassed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import lock_row, utcnow
from core.money import Money
from ledger import services as ledger
from payouts.errors import IllegalTransition
from payouts.models import Payout, PayoutStatus
from payouts.providers.base import PaymentResult, ResultStatus, StatusAnswer, SubmitAck
from payouts.receipts import send_receipt

log = logging.getLogger("kazi.payouts")

S = PayoutStatus
#: Where a payout may go from each state. A callback may overtake the submit job's own
#: record of the provider's answer, so REQUESTED can end directly in SETTLED or FAILED.
TRANSITIONS: Mapping[PayoutStatus, frozenset[PayoutStatus]] = {
    S.REQUESTED: frozenset({S.SUBMITTED, S.UNKNOWN, S.SETTLED, S.FAILED}),
    S.SUBMITTED: frozenset({S.UNKNOWN, S.SETTLED, S.FAILED}),
    S.UNKNOWN: frozenset({S.SETTLED, S.FAILED}),
    S.SETTLED: frozenset(),
    S.FAILED: frozenset(),
}
#: Marks a payout whose provider contradicted its final state (reconcile lists them).
MISMATCH = "MISMATCH:"
FINAL = frozenset(s for s, exits in TRANSITIONS.items() if not exits)
OPEN = frozenset(TRANSITIONS) - FINAL


def move(payout: Payout, to: PayoutStatus) -> None:
    """Change a payout's status along the table; anything else is a bug and raises."""
    if to not in TRANSITIONS[payout.status]:
        raise IllegalTransition(f"payout {payout.id}: {payout.status} -> {to} is not allowed")
    payout.status = to


def lock_payout(session: Session, payout_id: int) -> Payout | None:
    """The payout, locked for the rest of the transaction."""
    return lock_row(session, Payout, payout_id)


def lock_by_key(session: Session, idempotency_key: str) -> Payout | None:
    """The payout with this idempotency key, locked; None for a key we never issued."""
    payout_id = session.scalar(select(Payout.id).where(Payout.idempotency_key == idempotency_key))
    return None if payout_id is None else lock_payout(session, payout_id)


def lock_by_reference(session: Session, provider: str, reference: str) -> Payout | None:
    """The payout a provider knows by its own reference (AT airtime's requestId), locked."""
    payout_id = session.scalar(
        select(Payout.id).where(Payout.provider == provider, Payout.provider_reference == reference)
    )
    return None if payout_id is None else lock_payout(session, payout_id)


def record_ack(session: Session, payout: Payout, ack: SubmitAck) -> None:
    """The provider accepted the payment; its result will come by callback."""
    payout.provider_reference = payout.provider_reference or ack.provider_reference
    payout.submitted_at = payout.submitted_at or utcnow()
    if payout.status is S.REQUESTED:
        move(payout, S.SUBMITTED)
    # Otherwise the result callback overtook this answer: the payout is already further.


def mark_unknown(payout: Payout, reason: str) -> bool:
    """The provider may or may not have the payment; True if this call changed the status."""
    if payout.status in FINAL or payout.status is S.UNKNOWN:
        return False
    move(payout, S.UNKNOWN)
    payout.result_description = reason[:1000]
    log.warning(
        "payout %s: outcome unknown (%s); a status query will resolve it", payout.id, reason
    )
    return True


def settle(
    session: Session,
    payout: Payout,
    *,
    receipt: str | None,
    recipient_name: str | None = None,
    completed_at: datetime | None = None,
) -> bool:
    """The worker was paid: move the hold out, send the receipt; True if this call did it."""
    if not _may_finish(payout, S.SETTLED):
        return False
    payout.receipt = receipt
    payout.recipient_name = recipient_name or payout.recipient_name
    payout.completed_at = completed_at or utcnow()
    _finish(session, payout, S.SETTLED)
    return True


def fail(session: Session, payout: Payout, *, code: str, description: str) -> bool:
    """The payout definitely did not pay: return the hold once, tell the worker."""
    if not _may_finish(payout, S.FAILED):
        return False
    payout.result_code = code[:20]
    payout.result_description = description[:1000]
    payout.completed_at = utcnow()
    _finish(session, payout, S.FAILED)
    return True


def _may_finish(payout: Payout, to: PayoutStatus) -> bool:
    if payout.status is to:
        return False  # a duplicate callback or a late status answer: already recorded
    if payout.status in FINAL:
        # E.g. the money went back to the wallet, yet the provider says it paid. Never
        # take or pay twice automatically: an operator must look at this payout.
        log.error(
            "PAYOUT MISMATCH: payout %s is %s, the provider says %s", payout.id, payout.status, to
        )
        if not (payout.result_description or "").startswith(MISMATCH):
            note = f"{MISMATCH} the provider says {to}; {payout.result_description or ''}"
            payout.result_description = note[:1000]  # reconcile lists these for an operator
        return False
    return True


def _finish(session: Session, payout: Payout, to: PayoutStatus) -> None:
    move(payout, to)
    leg = ledger.settle_payout if to is S.SETTLED else ledger.release_payout
    leg(session, payout_id=payout.id, worker_id=payout.worker_id, amount=_money(payout))
    send_receipt(session, payout)


def apply_result(session: Session, payout: Payout, result: PaymentResult) -> bool:
    """Apply a payment's result (or its timeout); True when a status query is now needed."""
    payout.provider_reference = payout.provider_reference or result.provider_reference or None
    if result.status is ResultStatus.SUCCESS:
        _check_amount(payout, result.amount_minor)
        if settle(
            session,
            payout,
            receipt=result.receipt,
            recipient_name=result.recipient_name,
            completed_at=result.completed_at,
        ):
            payout.result_code = result.code
            payout.result_description = result.description
            if result.discount_minor:
                # The rail's commission (AT airtime's discount) is Kazi's: to the fee account.
                discount = Money(result.discount_minor, payout.currency)
                ledger.book_provider_discount(session, payout_id=payout.id, amount=discount)
        return False
    if result.status is ResultStatus.FAILED:
        fail(session, payout, code=result.code, description=result.description)
        return False
    why = "queue timeout" if result.timed_out else f"result {result.code}"
    return mark_unknown(payout, f"{why}: {result.description}")


def apply_status(session: Session, payout: Payout, answer: StatusAnswer) -> bool:
    """Apply a status query's answer; True when it proved the payout paid."""
    if answer.status is ResultStatus.FAILED and answer.authoritative:
        # The provider's own record says the transfer failed (MoMo's GET): not paid.
        fail(session, payout, code=answer.code, description=answer.description)
        return False
    if answer.status is not ResultStatus.SUCCESS:
        # Only "Completed" proves anything; any other answer (not found, Failed, an
        # undocumented status) leaves the money on hold for the next query or an operator.
        log.warning(
            "payout %s: status query says %s %s (%s); still %s",
            payout.id,
            answer.code,
            answer.provider_status,
            answer.description,
            payout.status,
        )
        return False
    _check_amount(payout, answer.amount_minor)
    return settle(
        session,
        payout,
        receipt=answer.receipt,
        recipient_name=answer.recipient_name,
        completed_at=answer.finalised_at,
    )


def _check_amount(payout: Payout, paid_minor: int | None) -> None:
    if paid_minor is not None and paid_minor != payout.amount_minor:
        log.error(
            "PAYOUT MISMATCH: payout %s booked %s but the provider paid %s",
            payout.id,
            payout.amount_minor,
            paid_minor,
        )


def _money(payout: Payout) -> Money:
    return Money(payout.amount_minor, payout.currency)
