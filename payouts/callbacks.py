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

from rq import Retry
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
#: A status query that could not be sent (network, 5xx) is asked again, backing off.
QUERY_RETRY = Retry(max=4, interval=[30, 120, 600, 1800])
#: The resend is retried only when it never left this machine (``NotSent``).
RESEND_RETRY = Retry(max=3, interval=[10, 60, 300])


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
    # How long a payout may stay without proof of payment before its one resend.
    resolve_window: timedelta = timedelta(minutes=60)


def callback_context(runtime: Runtime) -> CallbackContext:
    """The float threshold and the re-query delay, from the runtime's settings."""
    settings = runtime.settings
    return CallbackContext(
        settings.payout_float_alert_minor,
        timedelta(minutes=settings.payout_unknown_after_minutes),
        timedelta(minutes=settings.payout_resolve_window_minutes),
    )


def query_backoff(base: timedelta, queries: int) -> timedelta:
    """The wait before the next status query: doubling with each one sent, up to 16x."""
    return base * 2 ** min(max(queries - 1, 0), 4)


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
            queue_status_query(session, payout.id)
        return Handled(kind, payout.id)
    if isinstance(event, StatusAnswer):
        # By the query's own id: an answer that overtakes the query job's note of that
        # id (and names no payout, e.g. "not found") is found again by it (early_answer).
        record(event.query_id)
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
            queue_status_query(session, payout.id)


def rematch_result(session: Session, provider: PayoutProvider, body: Mapping[str, Any]) -> bool:
    """Apply a recorded result that matched no payout when it came; True if it matched now."""
    event = provider.parse_callback(CallbackKind.RESULT, body)
    assert isinstance(event, PaymentResult)  # a result callback decodes to a result
    payout = lifecycle.lock_by_reference(session, provider.name, event.provider_reference)
    if payout is None:
        log.warning("payout result %r still matches no payout", event.provider_reference)
        return False
    if lifecycle.apply_result(session, payout, event):
        queue_status_query(session, payout.id)
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
    if lifecycle.wants_resend(payout, answer, context.resolve_window):
        # Not found after the whole window: the first request never arrived. One
        # resend under the same key, which the provider refuses if it did arrive.
        payout.resent_at = utcnow()
        enqueue(
            session,
            "payouts.jobs.resend_payout",
            payout.id,
            queue="payouts",
            job_id=f"payout-{payout.id}-resend",
            retry=RESEND_RETRY,
        )
    # Otherwise, not proven paid (not found yet, pending): the follow-up check queued
    # with the query asks again, backing off, rather than guess (``jobs.follow_up_query``).
    return payout.id


def early_answer(session: Session, provider: PayoutProvider, query_id: str) -> StatusAnswer | None:
    """A status answer for this query that arrived before its id was recorded, if any."""
    event = session.scalars(
        select(WebhookEvent)
        .where(
            WebhookEvent.source == provider.name,
            WebhookEvent.kind == f"b2c_{CallbackKind.STATUS}",
            WebhookEvent.external_id == query_id,
        )
        .order_by(WebhookEvent.id.desc())
        .limit(1)
    ).first()
    if event is None:
        return None
    answer = provider.parse_callback(CallbackKind.STATUS, event.payload)
    return answer if isinstance(answer, StatusAnswer) else None


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


def queue_status_query(
    session: Session, payout_id: int, *, force: bool = False, delay: timedelta | None = None
) -> None:
    """Queue a status query after commit; a query that cannot reach the provider is
    retried by rq with backoff (a query never moves money, so retrying is safe)."""
    args = (payout_id, True) if force else (payout_id,)
    enqueue(
        session, "payouts.jobs.resolve_unknown", *args, queue="payouts", delay=delay,
        retry=QUERY_RETRY,
    )  # fmt: skip


def _unknown(kind: CallbackKind, key: str) -> Handled:
    log.warning("payout %s callback for an unknown id %r: recorded, ignored", kind, key)
    return Handled(kind, None)
