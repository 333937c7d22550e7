"""rq entry points of payouts: submit a payout, resolve an unknown one, sandbox callbacks.

The provider is called outside any database transaction, between two short ones:
the first records that an attempt is under way, the second records the answer. A
process that dies in between leaves ``submit_attempts > 0`` on a REQUESTED payout,
and the next run of this job then asks the provider by status query instead of
sending the payment again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from core.db import utcnow
from core.jobs import enqueue
from core.runtime import Runtime, current
from payouts import outcomes
from payouts.callbacks import SANDBOX_KINDS, CallbackContext, handle_callback
from payouts.errors import (
    InvalidPayoutRequest,
    OutcomeUnknown,
    PayoutConfigError,
    ProviderAuthError,
    ProviderRejected,
)
from payouts.models import PayoutStatus
from payouts.providers.base import PayoutRequest
from payouts.wiring import payout_provider

log = logging.getLogger("kazi.payouts.jobs")


def callback_context(runtime: Runtime) -> CallbackContext:
    """Receipts through the configured SMS provider; thresholds and delays from settings."""
    settings = runtime.settings
    return CallbackContext(
        settings.sms_provider,
        settings.payout_float_alert_minor,
        timedelta(minutes=settings.payout_unknown_after_minutes),
    )


def submit_payout(payout_id: int) -> None:
    """Send one payout to the provider, once; an uncertain earlier attempt is queried instead."""
    runtime = current()
    with runtime.sessions.begin() as session:
        payout = outcomes.lock_payout(session, payout_id)
        if payout is None or payout.status is not PayoutStatus.REQUESTED:
            return  # already submitted or resolved: a re-run must not pay again
        if payout.submit_attempts > 0:
            # An earlier run may have reached the provider and died before recording
            # the answer. Resending is what pays twice; the status query decides.
            outcomes.mark_unknown(payout, "an earlier submit attempt left no answer")
            enqueue(session, "payouts.jobs.resolve_unknown", payout.id, queue="payouts")
            return
        payout.submit_attempts += 1
        assert payout.originator_id is not None  # written with the row, before any job
        request = PayoutRequest(
            payout.originator_id, payout.phone, payout.amount_minor, payout.currency
        )
    _call_provider(runtime, payout_id, request)


def _call_provider(runtime: Runtime, payout_id: int, request: PayoutRequest) -> None:
    try:
        ack = payout_provider(runtime).submit(request)
    except (ProviderAuthError, PayoutConfigError):
        # Raised before the payment request left this process: nothing was sent, so
        # the attempt is undone and rq's retry may send it.
        with runtime.sessions.begin() as session:
            outcomes.lock_payout(session, payout_id).submit_attempts -= 1
        raise
    except (ProviderRejected, InvalidPayoutRequest) as error:
        _record_refusal(runtime, payout_id, error)
        return
    except OutcomeUnknown as error:
        with runtime.sessions.begin() as session:
            payout = outcomes.lock_payout(session, payout_id)
            if outcomes.mark_unknown(payout, error.message):
                enqueue(session, "payouts.jobs.resolve_unknown", payout.id, queue="payouts")
        return
    with runtime.sessions.begin() as session:
        payout = outcomes.lock_payout(session, payout_id)
        outcomes.record_ack(session, payout, ack)
        if payout.status is PayoutStatus.SUBMITTED:
            # No callback within the deadline: the status query resolves it then.
            delay = timedelta(minutes=runtime.settings.payout_unknown_after_minutes)
            enqueue(
                session, "payouts.jobs.resolve_unknown", payout.id, queue="payouts", delay=delay
            )


def _record_refusal(
    runtime: Runtime, payout_id: int, error: ProviderRejected | InvalidPayoutRequest
) -> None:
    """Definitely not paid: the payout fails and its hold goes back to the wallet."""
    # result_code holds 20 characters: Daraja's code, or which field we refused.
    ours = isinstance(error, InvalidPayoutRequest)
    code = f"invalid_{error.field}" if ours else error.error_code  # type: ignore[union-attr]
    with runtime.sessions.begin() as session:
        payout = outcomes.lock_payout(session, payout_id)
        sms = runtime.settings.sms_provider
        outcomes.fail(session, payout, code=code, description=error.message, sms_provider=sms)


def resolve_unknown(payout_id: int, force: bool = False) -> None:
    """Ask the provider what became of an open payout; the answer arrives by callback."""
    runtime = current()
    with runtime.sessions.begin() as session:
        payout = outcomes.lock_payout(session, payout_id)
        if payout is None or payout.status in outcomes.FINAL:
            return
        if payout.status is PayoutStatus.REQUESTED and payout.submit_attempts == 0:
            return  # never sent: the submit job (or reconcile) sends it
        if not force and _queried_lately(runtime, payout.status_queried_at):
            # Another query's answer scheduled this one too: one question at a time.
            return
        outcomes.mark_unknown(payout, "no result from the provider in time")
        originator_id = payout.originator_id
    # Errors escape: rq retries the query (a query never moves money).
    ack = payout_provider(runtime).query_status(originator_conversation_id=originator_id)
    with runtime.sessions.begin() as session:
        payout = outcomes.lock_payout(session, payout_id)
        payout.status_query_id = ack.originator_conversation_id
        payout.status_queried_at = utcnow()


def _queried_lately(runtime: Runtime, queried_at: datetime | None) -> bool:
    spacing = timedelta(minutes=runtime.settings.payout_unknown_after_minutes / 2)
    return queried_at is not None and utcnow() - queried_at < spacing


def check_float() -> None:
    """Ask the provider for the disbursement account's balance (answer by callback)."""
    payout_provider(current(), purpose="balance").account_balance()


def deliver_sandbox_callback(kind: str, body: dict[str, Any]) -> None:
    """Apply a sandbox callback through the webhook's own service, as if Daraja posted it."""
    runtime = current()
    provider = payout_provider(runtime)
    with runtime.sessions.begin() as session:
        handle_callback(session, provider, SANDBOX_KINDS[kind], body, callback_context(runtime))
