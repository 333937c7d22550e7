"""Paused rails: when a provider says our own configuration is wrong, stop sending.

Result codes such as "initiator information invalid" (Daraja 2001) or "credential
locked" (8006) would fail every queued payout one by one, and each failure retried
with bad credentials makes a lock more likely. Instead the first such result pauses
the rail: the payout goes back to the queue, the submit job leaves queued payouts
alone while a pause is active, the console and ``/metrics`` raise an alert, and an
operator resumes (``operator.resume_rail``) once the configuration is fixed.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from payouts.models import RailPause

log = logging.getLogger("kazi.payouts.pauses")


def active_pause(session: Session, provider: str) -> RailPause | None:
    """The rail's current pause, or None while it pays."""
    stmt = (
        select(RailPause)
        .where(RailPause.provider == provider, RailPause.resumed_at.is_(None))
        .order_by(RailPause.id)
        .limit(1)
    )
    return session.scalars(stmt).first()


def active_pauses(session: Session) -> list[RailPause]:
    """Every rail's current pause (for the console and the metrics)."""
    stmt = select(RailPause).where(RailPause.resumed_at.is_(None)).order_by(RailPause.id)
    return list(session.scalars(stmt))


def pause_rail(
    session: Session, provider: str, *, code: str, reason: str, payout_id: int | None
) -> RailPause:
    """Pause the rail (once: a second bad result while paused adds nothing)."""
    existing = active_pause(session, provider)
    if existing is not None:
        return existing
    pause = RailPause(provider=provider, code=code[:20], reason=reason, payout_id=payout_id)
    session.add(pause)
    session.flush()
    log.error(
        "PAYOUTS PAUSED: %s answered %s (%s) for payout %s; queued payouts wait until an "
        "operator resumes the rail",
        provider,
        code,
        reason,
        payout_id,
    )
    return pause
