"""The payout lifecycle: one declared transition table, and the money legs each move makes.

Every move happens with the payout row locked, so a callback, the submit job and a
status query racing on one payout are applied one after another. Final states are
final: a duplicate callback finds the payout already there and changes nothing, and
the ledger's references (``payout:{id}:settle`` / ``:release``) make each leg
impossible to record twice even if that guard were bypassed.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import lock_row, utcnow
from core.money import Money
from ledger import payout_postings
from payouts.errors import IllegalTransition
from payouts.models import Contradiction, Payout, PayoutStatus
from payouts.pauses import pause_rail
from payouts.providers.base import PaymentResult, ResultStatus, StatusAnswer, SubmitAck
from payouts.receipts import send_receipt

log = logging.getLogger("kazi.payouts")

S = PayoutStatus
#: Where a payout may go from each state. A callback may overtake the submit job's own
#: record of the provider's answer, so REQUESTED can end directly in SETTLED or FAILED.
TRANSITIONS: Mapping[PayoutStatus, frozenset[PayoutStatus]] = {
    S.REQUESTED: frozenset({S.SUBMITTED, S.UNKNOWN, S.SETTLED, S.FAILED}),
    # A result saying our configuration is wrong (pauses.py) proves the payment was not
    # made: the payout goes back to REQUESTED under a new key, to be sent on resume.
    S.SUBMITTED: frozenset({S.REQUESTED, S.UNKNOWN, S.SETTLED, S.FAILED}),
    S.UNKNOWN: frozenset({S.REQUESTED, S.SETTLED, S.FAILED}),
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
    if ack.idempotency_key != payout.idempotency_key:
        return  # an answer for a key this payout gave up (requeued under a new one)
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
    if not _may_finish(session, payout, S.SETTLED):
        if payout.status is S.FAILED and receipt:
            _paid_after_release(session, payout, receipt)
        return False
    payout.receipt = receipt
    payout.recipient_name = recipient_name or payout.recipient_name
    payout.completed_at = completed_at or utcnow()
    _finish(session, payout, S.SETTLED)
    return True


def fail(session: Session, payout: Payout, *, code: str, description: str) -> bool:
    """The payout definitely did not pay: return the hold once, tell the worker."""
    if not _may_finish(session, payout, S.FAILED):
        return False
    payout.result_code = code[:20]
    payout.result_description = description[:1000]
    payout.completed_at = utcnow()
    _finish(session, payout, S.FAILED)
    return True


def _may_finish(session: Session, payout: Payout, to: PayoutStatus) -> bool:
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


def _paid_after_release(session: Session, payout: Payout, receipt: str) -> None:
    """The money went back to the wallet, yet the provider paid: the worker owes it.

    Posted once (by reference) as a receivable against the worker, and the payout is
    marked contradicted, which blocks the worker's withdrawals until an operator
    resolves it (``contradictions.py``); nothing is taken from the wallet automatically.
    """
    posting = payout_postings.receivable_for_payout(
        session, payout_id=payout.id, worker_id=payout.worker_id, amount=_money(payout)
    )
    if posting.created:
        payout.contradiction = Contradiction.PAID_AFTER_RELEASE
        payout.contradiction_resolved_at = None
        if not session.scalar(select(Payout.id).where(Payout.receipt == receipt)):
            payout.receipt = receipt
        log.error(
            "PAYOUT CONTRADICTION: payout %s was returned to the wallet but paid (%s): "
            "receivable posted, withdrawals blocked until an operator resolves it",
            payout.id,
            receipt,
        )


def _finish(session: Session, payout: Payout, to: PayoutStatus) -> None:
    move(payout, to)
    leg = payout_postings.settle_payout if to is S.SETTLED else payout_postings.release_payout
    leg(session, payout_id=payout.id, worker_id=payout.worker_id, amount=_money(payout))
    send_receipt(session, payout)


def apply_result(session: Session, payout: Payout, result: PaymentResult) -> bool:
    """Apply a payment's result (or its timeout); True when a status query is now needed."""
    payout.provider_reference = payout.provider_reference or result.provider_reference or None
    if result.status is ResultStatus.SUCCESS:
        record_costs(session, payout, result)
        if not _amount_agrees(payout, result.amount_minor, result.receipt):
            return False
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
                payout_postings.book_provider_discount(
                    session, payout_id=payout.id, amount=discount
                )
        return False
    if result.status is ResultStatus.FAILED:
        if result.configuration_error and payout.status in OPEN:
            requeue_for_configuration(session, payout, result.code, result.description)
            return False
        fail(session, payout, code=result.code, description=result.description)
        return False
    why = "queue timeout" if result.timed_out else f"result {result.code}"
    return mark_unknown(payout, f"{why}: {result.description}")


def apply_status(session: Session, payout: Payout, answer: StatusAnswer) -> bool:
    """Apply a status query's answer; True when it proved the payout paid."""
    if answer.status is ResultStatus.FAILED:
        # The provider's documented "Failed": the payment did not happen.
        fail(
            session,
            payout,
            code=answer.code,
            description=f"status query: {answer.provider_status} {answer.description}".strip(),
        )
        return False
    if answer.status is not ResultStatus.SUCCESS:
        # Only "Completed" or "Failed" prove anything; any other answer (not found, an
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
    if answer.fee_minor is not None and payout.fee_minor is None:
        post_fee(session, payout, answer.fee_minor)
    if not _amount_agrees(payout, answer.amount_minor, answer.receipt):
        return False
    return settle(
        session,
        payout,
        receipt=answer.receipt,
        recipient_name=answer.recipient_name,
        completed_at=answer.finalised_at,
    )


def wants_resend(payout: Payout, answer: StatusAnswer, window: timedelta) -> bool:
    """True when a payout should be sent once more under its own idempotency key.

    Only when the provider has no trace of it ("not found"), the resolve window passed
    with no proof of payment, and it was never resent: the same key means the provider's
    duplicate guard refuses the resend if the first request did arrive after all.
    """
    return (
        answer.not_found
        and payout.status in (S.SUBMITTED, S.UNKNOWN)
        and payout.resent_at is None
        and payout.contradiction is None
        and utcnow() - payout.created_at >= window
    )


def requeue_for_configuration(session: Session, payout: Payout, code: str, why: str) -> None:
    """The provider refused the payment for our configuration: it was not paid, keep it.

    Its key is spent (the provider remembers it), so it gets a fresh one and waits,
    REQUESTED and never attempted, until an operator resumes the paused rail.
    """
    if payout.status is not S.REQUESTED:  # the callback may overtake the submit's answer
        move(payout, S.REQUESTED)
    payout.idempotency_key = f"{(payout.idempotency_key or '')[:80]}-r{secrets.token_hex(3)}"
    payout.submit_attempts = 0
    payout.provider_reference = None
    payout.status_query_id = None
    payout.result_code = code[:20]
    payout.result_description = f"paused: {why}"[:1000]
    pause_rail(session, payout.provider, code=code, reason=why, payout_id=payout.id)


def record_costs(session: Session, payout: Payout, result: PaymentResult) -> None:
    """Record the float after this payment and post its charge to the fee account."""
    payout.float_after_minor = result.float_minor
    if result.charges_account_minor is None:
        return
    payout.charges_account_minor = result.charges_account_minor
    previous = session.scalar(
        select(Payout.charges_account_minor)
        .where(Payout.charges_account_minor.is_not(None), Payout.id < payout.id)
        .order_by(Payout.id.desc())
        .limit(1)
    )
    # The charges-paid account goes down by each payment's charge (it runs negative):
    # the drop since the previous payment's reading is this payment's fee. Daraja's B2C
    # result carries no per-payment charge (B2C page, result parameters), so payments
    # completing out of request order may shift a charge between neighbours; a status
    # answer's DebitPartyCharges is exact and wins when the fee is still unknown.
    fee = None if previous is None else previous - result.charges_account_minor
    if fee is not None and fee >= 0 and payout.fee_minor is None:  # < 0: out of order
        post_fee(session, payout, fee)


def post_fee(session: Session, payout: Payout, fee_minor: int) -> None:
    """Post the provider's charge for this payout to the fee account, once."""
    payout.fee_minor = fee_minor
    if fee_minor <= 0:
        return  # nothing charged (the sandbox's fee is zero): nothing to post
    payout_postings.post_payout_fee(
        session, payout_id=payout.id, amount=Money(fee_minor, payout.currency)
    )


def _amount_agrees(payout: Payout, paid_minor: int | None, receipt: str | None) -> bool:
    if paid_minor is None or paid_minor == payout.amount_minor:
        return True
    # Settling would book one amount while another left the float: flag it, keep the
    # hold, and let an operator decide (console) instead of settling silently.
    log.error(
        "PAYOUT MISMATCH: payout %s booked %s but the provider paid %s (%s)",
        payout.id,
        payout.amount_minor,
        paid_minor,
        receipt,
    )
    payout.paid_amount_minor = paid_minor
    if payout.contradiction is None:
        payout.contradiction = Contradiction.AMOUNT_DIFFERS
    if payout.status in OPEN:
        mark_unknown(payout, f"the provider paid {paid_minor}, not {payout.amount_minor}")
    return False


def _money(payout: Payout) -> Money:
    return Money(payout.amount_minor, payout.currency)
