"""The disbursement float: the B2C utility account's balance, and whether it runs low.

Balance answers arrive by callback and are recorded as webhook events, so the latest
reading is read back from the database: any process (the CLI, a console page) sees
it, with or without Redis.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.webhooks import WebhookEvent
from payouts.models import Payout
from payouts.providers.base import BalanceAnswer, CallbackKind, PayoutProvider

log = logging.getLogger("kazi.payouts.float")

EVENT_KIND = "b2c_balance"


@dataclass(frozen=True)
class FloatReading:
    """One balance answer: the utility account's available funds and the alert state."""

    event_id: int
    received_at: datetime | None
    ok: bool
    result: str
    available_minor: int | None
    currency: str | None
    alert: bool


def reading(
    balance: BalanceAnswer, alert_minor: int, *, event_id: int = 0, at: datetime | None = None
) -> FloatReading:
    """Read a balance answer; a failed query or a missing utility account is an alert too."""
    # Daraja names its paying account "Utility Account"; a one-account rail (MoMo) has only it.
    utility = balance.account("Utility") or (
        balance.accounts[0] if len(balance.accounts) == 1 else None
    )
    available = utility.available_minor if utility else None
    return FloatReading(
        event_id=event_id,
        received_at=at,
        ok=balance.success and utility is not None,
        result=f"{balance.code} {balance.description}".strip(),
        available_minor=available,
        currency=utility.currency if utility else None,
        alert=available is None or available < alert_minor,
    )


def warn_if_low(balance: BalanceAnswer, alert_minor: int) -> None:
    """Log an error an operator's alerting picks up when the float is below the threshold."""
    now = reading(balance, alert_minor)
    if now.alert:
        log.error(
            "PAYOUT FLOAT LOW: utility account %s %s < threshold %s (%s)",
            now.currency,
            now.available_minor,
            alert_minor,
            now.result,
        )


def latest_reading(
    session: Session, provider: PayoutProvider, alert_minor: int
) -> FloatReading | None:
    """The newest recorded balance answer, or None before the first one."""
    event = session.scalars(
        select(WebhookEvent)
        .where(WebhookEvent.kind == EVENT_KIND, WebhookEvent.source == provider.name)
        .order_by(WebhookEvent.id.desc())
    ).first()
    if event is None:
        return None
    balance = provider.parse_callback(CallbackKind.BALANCE, event.payload)
    assert isinstance(balance, BalanceAnswer)  # a balance callback decodes to its answer
    return reading(balance, alert_minor, event_id=event.id, at=event.received_at)


@dataclass(frozen=True)
class FloatDrift:
    """How the float moved between two results against what the ledger says left it."""

    since: datetime | None
    first_minor: int
    last_minor: int
    explained_minor: int  # payouts and their charges booked in between
    unknown_fees: int  # payouts in between whose charge is not known

    @property
    def drift_minor(self) -> int:
        """Float change the ledger does not explain: a top-up (negative), or money that
        left without Kazi's books knowing (positive)."""
        return self.first_minor - self.explained_minor - self.last_minor


def float_drift(session: Session, since: datetime) -> FloatDrift | None:
    """Ledger-vs-float drift over the payouts whose results reported the float since ``since``.

    Each B2C result reports the utility account's funds after that payment: between the
    first and the last reading, the float should fall by exactly the payouts settled
    in between plus their charges; any other change is drift an operator explains.
    """
    stmt = (
        select(Payout)
        .where(Payout.float_after_minor.is_not(None), Payout.created_at >= since)
        .order_by(Payout.id)  # request order: the provider's times are to the second
    )
    readings = list(session.scalars(stmt))
    if len(readings) < 2:
        return None
    first, later = readings[0], readings[1:]
    explained = sum(p.amount_minor + (p.fee_minor or 0) for p in later)
    assert first.float_after_minor is not None and later[-1].float_after_minor is not None
    return FloatDrift(
        since=first.created_at,
        first_minor=first.float_after_minor,
        last_minor=later[-1].float_after_minor,
        explained_minor=explained,
        unknown_fees=sum(1 for p in later if p.fee_minor is None),
    )
