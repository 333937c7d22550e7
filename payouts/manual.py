"""Operators resolving a payout whose outcome M-Pesa never made clear.

After a day of inconclusive status queries only a person can decide, by looking the
payment up in the M-Pesa org portal. Whatever they decide goes through the same
``lifecycle.settle`` / ``lifecycle.fail`` path as a provider callback, with the payout
row locked, so the ledger legs (``payout:{id}:settle`` / ``:release``) are recorded
once and the worker gets the usual SMS. A decision on a payout that is already final
(the callback arrived meanwhile, or a second click) is refused; a provider answer
that later contradicts the operator is flagged as a mismatch and moves no money.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import Conflict, NotFound
from payouts import lifecycle
from payouts.callbacks import queue_status_query
from payouts.errors import InvalidResolution
from payouts.models import Payout, PayoutStatus

#: An M-Pesa transaction id (receipt) as the org portal shows it, e.g. "UAF0000XY1".
RECEIPT = re.compile(r"[A-Z0-9]{10}")
#: ``result_code`` of a payout an operator resolved (Daraja's codes are numeric or SFC_*).
MANUAL_CODE = "manual"
REASON_MAX = 200


def ask_provider(session: Session, payout_id: int) -> Payout:
    """Queue a Transaction Status query now, however recently the last one was sent."""
    payout = _open_payout(session, payout_id)
    if _never_sent(payout):
        raise Conflict(
            f"payout {payout_id} was never sent to M-Pesa: run reconciliation to send it"
        )
    queue_status_query(session, payout.id, force=True)
    return payout


def operator_settle(
    session: Session,
    payout_id: int,
    receipt: str | None,
    reason: str | None,
    now: datetime,
) -> Payout:
    """Record a payout as paid on an operator's word and M-Pesa receipt; moves the hold once."""
    receipt = normalize_receipt(receipt)
    reason = clean_reason(reason)
    payout = _open_payout(session, payout_id)
    if _never_sent(payout):
        # Nothing of ours reached M-Pesa, so a receipt cannot belong to this payout.
        raise Conflict(f"payout {payout_id} was never sent to M-Pesa, so it cannot be paid")
    _refuse_reused_receipt(session, payout_id, receipt)
    lifecycle.settle(session, payout, receipt=receipt, completed_at=now)
    payout.result_code = MANUAL_CODE
    payout.result_description = f"marked paid by an operator: {reason}"
    _resolved(payout, now)
    return payout


def operator_fail(
    session: Session,
    payout_id: int,
    reason: str | None,
    now: datetime,
) -> Payout:
    """Record a payout as not paid on an operator's word; returns the hold to the wallet once."""
    reason = clean_reason(reason)
    payout = _open_payout(session, payout_id)
    description = f"marked failed by an operator: {reason}"
    lifecycle.fail(session, payout, code=MANUAL_CODE, description=description)
    payout.completed_at = now
    _resolved(payout, now)
    return payout


def _resolved(payout: Payout, now: datetime) -> None:
    # An amount the provider reported differently is settled (or failed) by this
    # decision: the contradiction no longer blocks the worker.
    if payout.contradiction is not None and payout.contradiction_resolved_at is None:
        payout.contradiction_resolved_at = now


def normalize_receipt(receipt: str | None) -> str:
    """The receipt in upper case, or InvalidResolution unless it is 10 letters and digits."""
    value = (receipt or "").strip().upper()
    if not RECEIPT.fullmatch(value):
        raise InvalidResolution(
            "the M-Pesa receipt is 10 letters and digits, e.g. UAF0000XY1", field="receipt"
        )
    return value


def clean_reason(reason: str | None) -> str:
    """The reason on one line, or InvalidResolution when it is empty or too long."""
    value = " ".join((reason or "").split())
    if not value:
        raise InvalidResolution("say what the M-Pesa org portal showed", field="reason")
    if len(value) > REASON_MAX:
        raise InvalidResolution(f"keep the reason under {REASON_MAX} characters", field="reason")
    return value


def _open_payout(session: Session, payout_id: int) -> Payout:
    payout = lifecycle.lock_payout(session, payout_id)
    if payout is None:
        raise NotFound(f"no payout {payout_id}")
    if payout.status in lifecycle.FINAL:
        # Typically the provider's callback (or another operator) got there first.
        raise Conflict(f"payout {payout_id} is already {payout.status.value}: nothing was changed")
    return payout


def _never_sent(payout: Payout) -> bool:
    # submit_attempts is counted before the provider call, so 0 means it never left us.
    return payout.status is PayoutStatus.REQUESTED and payout.submit_attempts == 0


def _refuse_reused_receipt(session: Session, payout_id: int, receipt: str) -> None:
    # One M-Pesa transaction pays one payout: a receipt already on another payout is a
    # typo or a copy-paste, and accepting it would hide a payment that never happened.
    other = session.scalar(
        select(Payout.id).where(Payout.receipt == receipt, Payout.id != payout_id)
    )
    if other is not None:
        raise Conflict(f"receipt {receipt} already belongs to payout {other}")
