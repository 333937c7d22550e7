"""Provider callbacks, one service for every rail's webhook and for the sandbox alike.

Order, as for every webhook: decode (the provider's ``parse_callback``; ``BadCallback``
names the field) → find the payout by our own idempotency key → apply it through the
lifecycle with the row locked → record the raw event → queue follow-ups after commit.
A callback about a payout we do not know is recorded and logged, and answered like
any other: providers such as Daraja do not retry.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.jobs import enqueue
from core.money import MINOR_UNITS
from core.runtime import Runtime
from core.webhooks import WebhookEvent, record_event
from payouts import lifecycle
from payouts.float_balance import warn_if_low
from payouts.models import Payout
from payouts.providers.base import (
    BalanceAnswer,
    CallbackKind,
    PaymentResult,
    PayoutProvider,
    QueryTimedOut,
    StatusAnswer,
)

log = logging.getLogger("kazi.payouts.callbacks")

#: When a result naming only the provider's reference that matched no payout is tried again.
REMATCH_AFTER = timedelta(seconds=5)
#: How long inconclusive status answers lead to automatic re-queries.
REQUERY_FOR = timedelta(days=1)


@dataclass(frozen=True)
class Handled:
    """What a callback did: the payout it was about (None if unknown to us)."""

    kind: CallbackKind
    payout_id: int | None


@dataclass(frozen=True)
class CallbackContext:
    """What handling needs besides the body: the float threshold and the re-query delay."""

    float_alert_minor: int
    requery_after: timedelta = timedelta(minutes=10)  # after an inconclusive status answer


def callback_context(runtime: Runtime) -> CallbackContext:
    """The float threshold and the re-query delay, from the runtime's settings."""
    settings = runtime.settings
    return CallbackContext(
        settings.payout_float_alert_minor,
        timedelta(minutes=settings.payout_unknown_after_minutes),
    )


def handle_callback(
    session: Session,
    provider: PayoutProvider,
    kind: CallbackKind,
    body: Mapping[str, Any],
    context: CallbackContext,
) -> Handled:
    """Decode one provider callback and apply it in the caller's transaction."""
    event = provider.parse_callback(kind, body)

    def record(key: str | None) -> None:
        # Stored as it arrived, in the handler's transaction (the kind names the rail's
        # callback: b2c_result, b2c_status, ...).
        record_event(
            session, source=provider.name, kind=f"b2c_{kind}", payload=dict(body), external_id=key
        )

    if isinstance(event, PaymentResult):
        key = event.idempotency_key or event.provider_reference
        if event.idempotency_key:
            payout = lifecycle.lock_by_key(session, event.idempotency_key)
        else:  # a rail that echoes only its own id (AT airtime's requestId)
            payout = lifecycle.lock_by_reference(session, provider.name, key)
        record(key)
        if payout is None and not event.idempotency_key:
            # It may have overtaken the submit job's record of this reference (the two
            # transactions can pass each other): match it once more a little later.
            enqueue(session, "payouts.jobs.rematch_result", provider.name, dict(body),
                    queue="payouts", delay=REMATCH_AFTER)  # fmt: skip
        if payout is None:
            return _unknown(kind, key)
        if lifecycle.apply_result(session, payout, event):
            _queue_status_query(session, payout)
        return Handled(kind, payout.id)
    if isinstance(event, StatusAnswer):
        record(event.idempotency_key)
        return Handled(kind, apply_status_answer(session, event, context))
    if isinstance(event, BalanceAnswer):
        record(event.query_id)
        warn_if_low(event, context.float_alert_minor)
        return Handled(kind, None)
    assert isinstance(event, QueryTimedOut)
    # A status or balance query timed out at the provider: nothing changed; the payout
    # stays open and a later query (or reconcile) asks again.
    record(None)
    log.warning("payout %s callback: the query timed out at the provider", kind)
    return Handled(kind, None)


def apply_early_result(session: Session, provider: PayoutProvider, payout: Payout) -> None:
    """Apply a result callback that came before the answer naming its reference.

    A rail that echoes only its own id (AT airtime's requestId) can call back before the
    submit job has recorded that id; the callback was recorded but matched no payout.
    """
    if payout.status in lifecycle.FINAL or not payout.provider_reference:
        return
    early = session.scalars(
        select(WebhookEvent).where(
            WebhookEvent.source == provider.name,
            WebhookEvent.kind == f"b2c_{CallbackKind.RESULT}",
            WebhookEvent.external_id == payout.provider_reference,
        )
    ).first()
    if early is not None:
        event = provider.parse_callback(CallbackKind.RESULT, early.payload)
        if isinstance(event, PaymentResult) and lifecycle.apply_result(session, payout, event):
            _queue_status_query(session, payout)


def rematch_result(session: Session, provider: PayoutProvider, body: Mapping[str, Any]) -> bool:
    """Apply a recorded result that matched no payout when it came; True if it matched now."""
    event = provider.parse_callback(CallbackKind.RESULT, body)
    assert isinstance(event, PaymentResult)  # a result callback decodes to a result
    payout = lifecycle.lock_by_reference(session, provider.name, event.provider_reference)
    if payout is None:
        log.warning("payout result %r still matches no payout", event.provider_reference)
        return False
    if lifecycle.apply_result(session, payout, event):
        _queue_status_query(session, payout)
    return True


def record_balance(
    session: Session, source: str, answer: BalanceAnswer, context: CallbackContext
) -> None:
    """Record a synchronous balance answer as the float watch reads it, and alert if low."""
    # Stored in the synchronous rails' shape ({"availableBalance": "2500000", "currency":
    # "UGX"}, major units as MoMo sends them), which their parse_callback(BALANCE) reads.
    account = answer.accounts[0] if answer.accounts else None
    payload = {
        "availableBalance": (
            str(Decimal(account.available_minor) / MINOR_UNITS[account.currency])
            if account
            else None
        ),
        "currency": account.currency if account else None,
    }
    record_event(session, source=source, kind="b2c_balance", payload=payload, external_id=None)
    warn_if_low(answer, context.float_alert_minor)


def apply_status_answer(
    session: Session, answer: StatusAnswer, context: CallbackContext
) -> int | None:
    """Apply a status answer (by callback, or straight from a synchronous rail); its payout."""
    payout = _payout_for_status(session, answer.idempotency_key, answer.query_id)
    if payout is None:
        _unknown(CallbackKind.STATUS, answer.query_id)
        return None
    lifecycle.apply_status(session, payout, answer)
    if payout.status in lifecycle.OPEN and utcnow() - payout.created_at < REQUERY_FOR:
        # Not proven paid (not found yet, Failed, pending): ask again later rather
        # than guess; after a day only an operator (reconcile) asks again.
        _queue_status_query(session, payout, delay=context.requery_after)
    return payout.id


def _payout_for_status(
    session: Session, idempotency_key: str | None, query_id: str
) -> Payout | None:
    if idempotency_key:
        payout = lifecycle.lock_by_key(session, idempotency_key)
        if payout is not None:
            return payout
    # A "not found" answer names no payout: match it by the query's own id.
    payout_id = session.scalar(select(Payout.id).where(Payout.status_query_id == query_id))
    return None if payout_id is None else lifecycle.lock_payout(session, payout_id)


def _queue_status_query(session: Session, payout: Payout, delay: timedelta | None = None) -> None:
    enqueue(session, "payouts.jobs.resolve_unknown", payout.id, queue="payouts", delay=delay)


def _unknown(kind: CallbackKind, key: str) -> Handled:
    log.warning("payout %s callback for an unknown id %r: recorded, ignored", kind, key)
    return Handled(kind, None)
