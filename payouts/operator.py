"""Operators' decisions on money the provider made unclear: contradictions and paused rails.

Each is called by the console (audited there) inside the view's transaction, with
the payout row locked, and moves money only through the ledger's once-per-reference
postings, so a double click or two operators at once move it once.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import Conflict, NotFound
from core.money import Money
from ledger import payout_postings
from payouts import lifecycle
from payouts.models import Contradiction, Payout, PayoutStatus
from payouts.pauses import active_pause
from payouts.withdrawals import queue_submit


class Resolution(StrEnum):
    """How an operator clears a payout that was paid after its money was returned."""

    RECOVER = "recover"  # take the amount back from the worker's wallet
    WRITE_OFF = "write_off"  # Kazi bears it: the worker keeps the money


def resolve_contradiction(session: Session, payout_id: int, how: Resolution) -> Payout:
    """Clear a paid-after-release payout's receivable; the worker may withdraw again."""
    payout = lifecycle.lock_payout(session, payout_id)
    if payout is None:
        raise NotFound(f"no payout {payout_id}")
    if payout.contradiction is None or payout.contradiction_resolved_at is not None:
        raise Conflict(f"payout {payout_id} has no open contradiction")
    if payout.contradiction != Contradiction.PAID_AFTER_RELEASE:
        # The provider paid another amount: settle or fail it as it really went.
        raise Conflict(f"payout {payout_id}: mark it paid or failed after checking the portal")
    payout_postings.settle_receivable(
        session,
        payout_id=payout.id,
        worker_id=payout.worker_id,
        amount=Money(payout.amount_minor, payout.currency),
        from_wallet=how is Resolution.RECOVER,
    )
    payout.contradiction_resolved_at = utcnow()
    return payout


def resume_rail(session: Session, provider: str, operator_id: int | None) -> list[int]:
    """End the rail's pause and send every payout that waited for it; their ids."""
    pause = active_pause(session, provider)
    if pause is None:
        raise Conflict(f"{provider} payouts are not paused")
    pause.resumed_at = utcnow()
    pause.resumed_by = operator_id
    waiting = list(
        session.scalars(
            select(Payout.id)
            .where(
                Payout.provider == provider,
                Payout.status == PayoutStatus.REQUESTED,
                Payout.submit_attempts == 0,
            )
            .order_by(Payout.id)
        )
    )
    for payout_id in waiting:
        queue_submit(session, payout_id)
    return waiting
