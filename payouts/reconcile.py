"""Reconciliation checks: does the ledger agree with the payouts it holds money for?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ledger import services as ledger
from ledger.models import AccountKind
from payouts.callbacks import queue_status_query
from payouts.lifecycle import MISMATCH, OPEN
from payouts.models import Contradiction, Payout, PayoutStatus
from payouts.pauses import active_pause
from payouts.withdrawals import queue_submit, stuck_payouts


@dataclass(frozen=True)
class Mismatch:
    """One disagreement an operator must look at."""

    what: str
    ledger_minor: int | None = None
    payouts_minor: int | None = None

    def line(self) -> str:
        """One line for the summary."""
        if self.ledger_minor is None:
            return f"MISMATCH {self.what}"
        return f"MISMATCH {self.what}: ledger {self.ledger_minor} vs payouts {self.payouts_minor}"


def ledger_mismatches(session: Session, currency: str = "KES") -> list[Mismatch]:
    """Holds must equal open payouts, and disbursed money must equal settled payouts."""
    late = Payout.contradiction == Contradiction.PAID_AFTER_RELEASE
    checks = [
        ("money on hold vs open payouts", AccountKind.PAYOUT_HOLD, Payout.status.in_(OPEN)),
        # A payout paid after its money was returned left through the rail too.
        (
            "money disbursed vs settled payouts",
            AccountKind.DISBURSED,
            or_(Payout.status == PayoutStatus.SETTLED, late),
        ),
    ]
    found = []
    for what, kind, which in checks:
        # Both accounts are credited by their leg (hold, settle), so balances are positive.
        held = ledger.account_total(session, kind, currency).amount
        owed = int(
            session.scalar(
                select(func.coalesce(func.sum(Payout.amount_minor), 0)).where(
                    which, Payout.currency == currency
                )
            )
            or 0
        )
        if held != owed:
            found.append(Mismatch(what, held, owed))
    return found


def contradicted_payouts(session: Session) -> list[Mismatch]:
    """Payouts the provider contradicted (e.g. paid after we returned the money)."""
    stmt = select(Payout).where(Payout.result_description.like(f"{MISMATCH}%"))
    return [
        Mismatch(f"payout {p.id} ({p.status}, {p.amount_minor}): {p.result_description}")
        for p in session.scalars(stmt)
    ]


@dataclass(frozen=True)
class Queued:
    """One stuck payout and what was queued for it: its submit, or a status query."""

    payout_id: int
    status: PayoutStatus
    action: str


def queue_stuck(session: Session, *, older_than: timedelta) -> list[Queued]:
    """Queue a resolution for every payout without an outcome for ``older_than``.

    A payout never sent (REQUESTED, no attempt) lost its job before any provider
    call, so sending it is safe; anything else may have reached the provider and
    is only ever asked about by status query, never sent again.
    """
    queued = []
    for payout in stuck_payouts(session, older_than=older_than):
        if payout.contradiction is not None:
            continue  # an operator decides (console); asking again changes nothing
        if payout.status is PayoutStatus.REQUESTED and not payout.submit_attempts:
            if active_pause(session, payout.provider) is not None:
                continue  # its rail is paused: resuming it sends the payout
            queue_submit(session, payout.id)
            queued.append(Queued(payout.id, payout.status, "submit"))
        else:
            queue_status_query(session, payout.id, force=True)
            queued.append(Queued(payout.id, payout.status, "status query"))
    return queued


def overdue_payouts(session: Session, *, window: timedelta) -> list[Payout]:
    """Payouts sent (or maybe sent) and still without an outcome after the resolve window.

    Nothing may stay unknown past the window in silence: the console's payouts page
    and ``/metrics`` (kazi_payouts_overdue) raise these for an operator.
    """
    return [
        p
        for p in stuck_payouts(session, older_than=window)
        if p.status is not PayoutStatus.REQUESTED or p.submit_attempts
    ]


def open_contradictions(session: Session) -> list[Payout]:
    """Payouts the provider contradicted that an operator has not resolved yet."""
    stmt = (
        select(Payout)
        .where(Payout.contradiction.is_not(None), Payout.contradiction_resolved_at.is_(None))
        .order_by(Payout.id)
    )
    return list(session.scalars(stmt))
