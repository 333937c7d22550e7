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

from core.db import lock_existing, utcnow
from core.jobs import enqueue, enqueue_next_tick
from core.runtime import Runtime, current
from payouts import callbacks, lifecycle
from payouts.callbacks import (
    REQUERY_FOR,
    apply_early_result,
    apply_status_answer,
    callback_context,
    early_answer,
    handle_callback,
    query_backoff,
    queue_status_query,
    record_balance,
)
from payouts.errors import (
    InvalidPayoutRequest,
    NotSent,
    OutcomeUnknown,
    PayoutConfigError,
    PrecheckFailed,
    ProviderAuthError,
    ProviderRejected,
)
from payouts.models import Payout, PayoutStatus
from payouts.pauses import active_pause
from payouts.providers.base import (
    BalanceAnswer,
    CallbackKind,
    PayoutProvider,
    PayoutRequest,
    QueryAck,
)
from payouts.rails import (
    balance_providers,
    configured_provider,
    provider_for,
    provider_named,
)
from payouts.reconcile import queue_stuck

log = logging.getLogger("kazi.payouts.jobs")


def submit_payout(payout_id: int) -> None:
    """Send one payout to the provider, once; an uncertain earlier attempt is queried instead."""
    runtime = current()
    with runtime.sessions.begin() as session:
        payout = lifecycle.lock_payout(session, payout_id)
        if payout is None or payout.status is not PayoutStatus.REQUESTED:
            return  # already submitted or resolved: a re-run must not pay again
        if payout.submit_attempts > 0:
            # An earlier run may have reached the provider and died before recording
            # the answer. Resending is what pays twice; the status query decides.
            lifecycle.mark_unknown(payout, "an earlier submit attempt left no answer")
            queue_status_query(session, payout.id)
            return
        if active_pause(session, payout.provider) is not None:
            # The rail is paused for its configuration: leave it queued, untouched;
            # resuming the rail sends it.
            log.warning("payout %s: %s is paused; not sent", payout.id, payout.provider)
            return
        payout.submit_attempts += 1
        assert payout.idempotency_key is not None  # written with the row, before any job
        request = PayoutRequest(
            payout.idempotency_key, payout.phone, payout.amount_minor, payout.currency
        )
        provider = provider_for(runtime, payout)
    _call_provider(runtime, payout_id, provider, request)


def _call_provider(
    runtime: Runtime, payout_id: int, provider: PayoutProvider, request: PayoutRequest
) -> None:
    try:
        ack = provider.submit(request)
    except (ProviderAuthError, PayoutConfigError, NotSent, PrecheckFailed):
        # Raised before the payment request left this process (or reached the
        # provider): nothing was sent, so the attempt is undone and rq's retry sends
        # it again under the same idempotency key.
        with runtime.sessions.begin() as session:
            lock_existing(session, Payout, payout_id).submit_attempts -= 1
        raise
    except (ProviderRejected, InvalidPayoutRequest) as error:
        _record_refusal(runtime, payout_id, error)
        return
    except OutcomeUnknown as error:
        with runtime.sessions.begin() as session:
            payout = lock_existing(session, Payout, payout_id)
            if lifecycle.mark_unknown(payout, error.message):
                queue_status_query(session, payout.id)
        return
    with runtime.sessions.begin() as session:
        payout = lock_existing(session, Payout, payout_id)
        lifecycle.record_ack(session, payout, ack)
        apply_early_result(session, provider, payout)
        if payout.status in (PayoutStatus.SUBMITTED, PayoutStatus.UNKNOWN):
            # No callback within the deadline: the status query resolves it then.
            delay = timedelta(minutes=runtime.settings.payout_unknown_after_minutes)
            queue_status_query(session, payout.id, delay=delay)


def _record_refusal(
    runtime: Runtime, payout_id: int, error: ProviderRejected | InvalidPayoutRequest
) -> None:
    """Definitely not paid: the payout fails and its hold goes back to the wallet."""
    # result_code holds 20 characters: Daraja's code, or which field we refused.
    code = f"invalid_{error.field}" if isinstance(error, InvalidPayoutRequest) else error.error_code
    with runtime.sessions.begin() as session:
        payout = lock_existing(session, Payout, payout_id)
        lifecycle.fail(session, payout, code=code, description=error.message)


def resolve_unknown(payout_id: int, force: bool = False) -> None:
    """Ask the provider what became of an open payout; the answer arrives by callback."""
    runtime = current()
    with runtime.sessions.begin() as session:
        payout = lifecycle.lock_payout(session, payout_id)
        if payout is None or payout.status in lifecycle.FINAL:
            return
        if payout.status is PayoutStatus.REQUESTED and payout.submit_attempts == 0:
            return  # never sent: the submit job (or reconcile) sends it
        if not force and _queried_lately(runtime, payout.status_queried_at):
            # Another query's answer scheduled this one too: one question at a time.
            return
        lifecycle.mark_unknown(payout, "no result from the provider in time")
        key = payout.idempotency_key
        provider = provider_for(runtime, payout)
    # Errors escape: rq retries the query (a query never moves money).
    answer = provider.query_status(idempotency_key=key)
    with runtime.sessions.begin() as session:
        payout = lock_existing(session, Payout, payout_id)
        payout.status_queries += 1
        payout.status_queried_at = utcnow()
        if isinstance(answer, QueryAck):
            # The answer comes by callback; its query id finds this payout then.
            payout.status_query_id = answer.query_id
            early = early_answer(session, provider, answer.query_id)
            if early is not None and early.idempotency_key is None:
                # It came first and could not name the payout ("not found"): apply it now.
                apply_status_answer(session, early, callback_context(runtime))
        else:
            apply_status_answer(session, answer, callback_context(runtime))
        resend_queued = payout.resent_at is not None and payout.submit_attempts < 2
        if payout.status in lifecycle.OPEN and not resend_queued:
            # Callbacks may never come, and an answer may prove nothing: a follow-up
            # check asks again, backing off, unless an answer settled it by then.
            base = timedelta(minutes=runtime.settings.payout_unknown_after_minutes)
            enqueue(
                session,
                "payouts.jobs.follow_up_query",
                payout_id,
                payout.status_queries,
                queue="payouts",
                delay=query_backoff(base, payout.status_queries),
            )


def follow_up_query(payout_id: int, queries: int) -> None:
    """After a status query: ask again unless an answer (or a newer query) came since."""
    runtime = current()
    with runtime.sessions() as session:
        payout = session.get(Payout, payout_id)
        if payout is None or payout.status in lifecycle.FINAL or payout.contradiction:
            return
        if payout.status_queries != queries:
            return  # answered (its re-query is queued) or asked again meanwhile
        if utcnow() - payout.created_at >= REQUERY_FOR:
            return  # after a day only an operator (reconcile) asks again
    resolve_unknown(payout_id, force=True)


def resend_payout(payout_id: int) -> None:
    """Send an unresolved payout once more under its own key (``lifecycle.wants_resend``)."""
    runtime = current()
    with runtime.sessions.begin() as session:
        payout = lifecycle.lock_payout(session, payout_id)
        if payout is None or payout.status in lifecycle.FINAL or payout.resent_at is None:
            return
        if payout.submit_attempts >= 2:
            return  # the resend already went out (or died on the way): never a third
        if active_pause(session, payout.provider) is not None:
            return  # resumed later: reconcile asks about it meanwhile
        payout.submit_attempts += 1
        assert payout.idempotency_key is not None  # written with the row, before any job
        request = PayoutRequest(
            payout.idempotency_key, payout.phone, payout.amount_minor, payout.currency
        )
        provider = provider_for(runtime, payout)
    log.warning("payout %s: not found at the provider after the window; resending once", payout_id)
    _call_provider(runtime, payout_id, provider, request)


def _queried_lately(runtime: Runtime, queried_at: datetime | None) -> bool:
    spacing = timedelta(minutes=runtime.settings.payout_unknown_after_minutes / 2)
    return queried_at is not None and utcnow() - queried_at < spacing


def reconcile_tick(reschedule: bool = True) -> None:
    """The periodic reconcile: chase stuck payouts, then schedule the next tick.

    Run by rq's scheduler under ``flask worker`` (each tick queues the next one, under
    a job id naming its time slot, so several workers keep one chain), and by the
    embedded default's background timer (``reschedule=False``: the timer repeats it).
    """
    runtime = current()
    settings = runtime.settings
    with runtime.sessions.begin() as session:
        queued = queue_stuck(
            session, older_than=timedelta(minutes=settings.payout_unknown_after_minutes)
        )
        if reschedule:
            schedule_reconcile_tick(session, settings.payout_reconcile_minutes)
    if queued:
        log.info("reconcile: %d stuck payout(s) chased", len(queued))


def schedule_reconcile_tick(session: Any, minutes: float) -> None:
    """Queue the next reconcile tick for the next slot of ``minutes`` (one job per slot)."""
    if minutes > 0:
        enqueue_next_tick(
            session, "payouts.jobs.reconcile_tick", queue="payouts", period_seconds=minutes * 60
        )


def check_float() -> None:
    """Ask every rail in use for its float; a synchronous answer (MoMo) is recorded at once."""
    runtime = current()
    for provider in balance_providers(runtime):
        answer = provider.query_balance()
        if isinstance(answer, BalanceAnswer):
            # Recorded as a callback would be, so every process reads the latest float.
            with runtime.sessions.begin() as session:
                record_balance(session, provider.name, answer, callback_context(runtime))
        # A QueryAck (Daraja): the answer arrives by callback and is recorded there.


def rematch_result(provider_name: str, body: dict[str, Any]) -> None:
    """Match once more a result callback that came before its reference was recorded."""
    runtime = current()
    provider = provider_named(runtime, provider_name)
    with runtime.sessions.begin() as session:
        callbacks.rematch_result(session, provider, body)


def deliver_sandbox_callback(kind: str, body: dict[str, Any]) -> None:
    """Apply a sandbox callback through the webhook's own service, as if Daraja posted it."""
    runtime = current()
    provider = configured_provider(runtime)
    with runtime.sessions.begin() as session:
        handle_callback(session, provider, CallbackKind(kind), body, callback_context(runtime))
