"""Provider callbacks, one service for the webhook and the sandbox alike.

Order, as for every webhook: decode (``BadCallback`` names the field) → find the
payout by our own id → apply it through the lifecycle with the row locked → record
the raw event → queue follow-ups after commit. A callback about a payout we do not
know is recorded and logged, and answered like any other: Daraja does not retry.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.jobs import enqueue
from core.webhooks import record_event
from payouts import outcomes
from payouts.float_balance import warn_if_low
from payouts.models import Payout
from payouts.providers.base import PayoutProvider

log = logging.getLogger("kazi.payouts.callbacks")

#: Which callback arrived: (webhook path's last part, ``kind`` query parameter) → kind.
KINDS = {
    ("result", None): "result",
    ("timeout", None): "timeout",
    ("result", "status"): "status",
    ("timeout", "status"): "status_timeout",
    ("result", "balance"): "balance",
    ("timeout", "balance"): "balance_timeout",
}
#: The sandbox's callback kinds in the same vocabulary.
SANDBOX_KINDS = {
    "result": "result",
    "timeout": "timeout",
    "status_result": "status",
    "balance_result": "balance",
}
#: How long inconclusive status answers lead to automatic re-queries.
REQUERY_FOR = timedelta(days=1)


@dataclass(frozen=True)
class Handled:
    """What a callback did: the payout it was about (None if unknown to us)."""

    kind: str
    payout_id: int | None


@dataclass(frozen=True)
class CallbackContext:
    """What handling needs besides the body: receipts, the float threshold, re-query delay."""

    sms_provider: str | None
    float_alert_minor: int
    requery_after: timedelta = timedelta(minutes=10)  # after an inconclusive status answer


def handle_callback(
    session: Session,
    provider: PayoutProvider,
    kind: str,
    body: Mapping[str, Any],
    context: CallbackContext,
) -> Handled:
    """Apply one decoded provider callback in the caller's transaction."""
    handler = _HANDLERS.get(kind, _on_query_timeout)
    return handler(session, _Callback(provider, kind, body, context))


@dataclass(frozen=True)
class _Callback:
    provider: PayoutProvider
    kind: str
    body: Mapping[str, Any]
    context: CallbackContext

    def record(self, session: Session, external_id: str | None) -> None:
        """Store the callback as it arrived, in the handler's transaction."""
        record_event(
            session,
            source=self.provider.name,
            kind=f"b2c_{self.kind}",
            payload=dict(self.body),
            external_id=external_id,
        )


def _on_result(session: Session, cb: _Callback) -> Handled:
    parse = cb.provider.parse_result if cb.kind == "result" else cb.provider.parse_timeout
    outcome = parse(cb.body)
    payout = outcomes.lock_by_originator(session, outcome.originator_conversation_id)
    cb.record(session, outcome.originator_conversation_id)
    if payout is None:
        return _unknown(cb.kind, outcome.originator_conversation_id)
    if outcomes.apply_outcome(session, payout, outcome, sms_provider=cb.context.sms_provider):
        _queue_status_query(session, payout)
    return Handled(cb.kind, payout.id)


def _on_status(session: Session, cb: _Callback) -> Handled:
    status = cb.provider.parse_status_result(cb.body)
    payout = _payout_for_status(
        session, status.payout_originator_conversation_id, status.originator_conversation_id
    )
    cb.record(session, status.payout_originator_conversation_id)
    if payout is None:
        return _unknown(cb.kind, status.originator_conversation_id)
    outcomes.apply_status(session, payout, status, sms_provider=cb.context.sms_provider)
    if payout.status in outcomes.OPEN and utcnow() - payout.created_at < REQUERY_FOR:
        # Not proven paid (not found yet, Failed, pending): ask again later rather
        # than guess; after a day only an operator (reconcile) asks again.
        _queue_status_query(session, payout, delay=cb.context.requery_after)
    return Handled(cb.kind, payout.id)


def _on_balance(session: Session, cb: _Callback) -> Handled:
    balance = cb.provider.parse_balance_result(cb.body)
    cb.record(session, balance.originator_conversation_id)
    warn_if_low(balance, cb.context.float_alert_minor)
    return Handled(cb.kind, None)


def _on_query_timeout(session: Session, cb: _Callback) -> Handled:
    # A status or balance query timed out in the provider's queue: nothing changed;
    # the payout stays open and a later query (or reconcile) asks again.
    cb.record(session, None)
    log.warning("payout %s callback: the query timed out at the provider", cb.kind)
    return Handled(cb.kind, None)


_HANDLERS = {
    "result": _on_result,
    "timeout": _on_result,
    "status": _on_status,
    "balance": _on_balance,
}


def _payout_for_status(
    session: Session, payout_originator_id: str | None, query_id: str
) -> Payout | None:
    if payout_originator_id:
        payout = outcomes.lock_by_originator(session, payout_originator_id)
        if payout is not None:
            return payout
    # A "not found" answer names no payout: match it by the query's own id.
    payout_id = session.scalar(select(Payout.id).where(Payout.status_query_id == query_id))
    return None if payout_id is None else outcomes.lock_payout(session, payout_id)


def _queue_status_query(session: Session, payout: Payout, delay: timedelta | None = None) -> None:
    enqueue(session, "payouts.jobs.resolve_unknown", payout.id, queue="payouts", delay=delay)


def _unknown(kind: str, originator_id: str) -> Handled:
    log.warning("payout %s callback for an unknown id %r: recorded, ignored", kind, originator_id)
    return Handled(kind, None)
