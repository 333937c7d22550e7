"""rq entry points of the gateway: thin functions taking ids.

Sending follows one order: claim (own transaction) → wait for the channel's rate
limit → call the provider (no transaction open) → record (own transaction). A
message is therefore never sent twice: a second run of the same job, a retry after
a crash or a concurrent worker finds it no longer claimable. The price of that
guarantee: a worker killed between claim and record leaves the message "sending"
(and a read timeout leaves it "sending" with error ``maybe_sent``) for an operator
to check, rather than risking a duplicate SMS.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlalchemy import update
from sqlalchemy.orm import Session

from core.db import matched_rows
from core.runtime import Runtime, current
from gateway import conversation
from gateway.errors import (
    PermanentSendError,
    ProviderConfigError,
    SendError,
    TemporarySendError,
)
from gateway.models import Message
from gateway.optout import OptIntent, opt_intent
from gateway.outbound import Claimed, claim, record_failure, record_sent, send_sms
from gateway.providers.base import SendResult, SmsProvider
from gateway.providers.registry import build_sms_provider
from gateway.ratelimit import RateLimiter
from gateway.services import inbound_text
from workers import services as workers
from workers.models import Worker

log = logging.getLogger("kazi.gateway.jobs")

#: Where each provider posts delivery news about a message (AT ignores per-message
#: URLs and uses the dashboard's, which should be set to the same path).
STATUS_CALLBACK_PATHS = {
    "twilio": "/webhooks/twilio/sms/status",
    "africastalking": "/webhooks/africastalking/sms/delivery",
}


#: Where the wiring keeps the console provider's report poster (``install_console_reporter``).
CONSOLE_REPORTER = "gateway.console_reporter"


def install_console_reporter(runtime: Runtime, reporter: Callable[[dict[str, str]], None]) -> None:
    """Make this runtime's console provider post its delivery reports through ``reporter``."""
    runtime.extras[CONSOLE_REPORTER] = reporter


def sms_provider(runtime: Runtime, name: str | None = None) -> SmsProvider:
    """The process's SMS provider called ``name`` (default: SMS_PROVIDER), built once."""
    name = name or runtime.settings.sms_provider
    key = "sms_provider" if name == runtime.settings.sms_provider else f"sms_provider:{name}"
    provider = runtime.extras.get(key)
    if provider is None:
        reporter = runtime.extras.get(CONSOLE_REPORTER)
        provider = build_sms_provider(name, runtime.settings, console_reporter=reporter)
        runtime.extras[key] = provider
    return provider


def rate_limiter(runtime: Runtime, channel: str) -> RateLimiter:
    """The shared send-rate limiter of one channel (provider), built once per process."""
    key = f"sms_rate:{channel}"
    limiter = runtime.extras.get(key)
    if limiter is None:
        limiter = RateLimiter(runtime.store, channel, runtime.settings.sms_rate_per_second)
        runtime.extras[key] = limiter
    return limiter


def callback_url(runtime: Runtime, provider: str) -> str | None:
    """The public status-callback URL for ``provider``, when PUBLIC_BASE_URL is known."""
    base, path = runtime.settings.public_base_url, STATUS_CALLBACK_PATHS.get(provider)
    return base.rstrip("/") + path if base and path else None


def send_message(message_id: int) -> None:
    """Send one queued outbound message; a message already claimed is never sent again."""
    runtime = current()
    with runtime.sessions.begin() as session:
        claimed = claim(session, [message_id])
    if not claimed:
        return  # already sent, being sent, failed or opted out: a re-run must not resend
    item = claimed[0]
    provider = _ready_provider(runtime, claimed)
    try:
        result = provider.send(
            item.phone, item.body, callback_url=callback_url(runtime, item.provider)
        )
    except (PermanentSendError, TemporarySendError) as error:
        if _record_failures(runtime, [(item, error)]):
            raise  # rq's Retry on the job schedules the next attempt
        return
    except Exception:
        # A bug after the provider was called: it may have sent. Mark it (no resend:
        # the row stays "sending") and let rq record the failure.
        _mark_unexpected(runtime, [item.id])
        raise
    with runtime.sessions.begin() as session:
        record_sent(session, item.id, result)


def send_batch(message_ids: Sequence[int]) -> None:
    """Send one text to many queued messages through the provider's bulk API (broadcasts)."""
    runtime = current()
    with runtime.sessions.begin() as session:
        claimed = claim(session, list(message_ids))
    if not claimed:
        return
    provider = _ready_provider(runtime, claimed)
    try:
        outcomes = provider.send_bulk([c.phone for c in claimed], claimed[0].body)
    except Exception:
        _mark_unexpected(runtime, [c.id for c in claimed])
        raise
    results: list[tuple[Claimed, SendResult]] = []
    failures: list[tuple[Claimed, SendError]] = []
    for item, outcome in zip(claimed, outcomes, strict=True):
        if outcome.result is not None:
            results.append((item, outcome.result))
        elif outcome.error is not None:
            failures.append((item, outcome.error))
    with runtime.sessions.begin() as session:
        for item, result in results:
            record_sent(session, item.id, result)
    if _record_failures(runtime, failures):
        # Only the errored messages are claimable again, so the retry resends nothing else.
        raise TemporarySendError(
            "bulk send: some recipients failed temporarily",
            provider=provider.name,
            reason="partial",
        )


def _ready_provider(runtime: Runtime, claimed: list[Claimed]) -> SmsProvider:
    """The provider for claimed messages, once the channel's rate allows them all.

    Nothing has been sent yet, so a failure here hands the claim back safely: a
    misconfigured provider fails the messages, a rate-limit wait that runs out of
    time leaves them errored for rq's retry.
    """
    try:
        provider = sms_provider(runtime, claimed[0].provider)
    except ProviderConfigError as exc:
        error = PermanentSendError(str(exc), provider=claimed[0].provider, reason="provider_config")
        _record_failures(runtime, [(item, error) for item in claimed])
        raise
    limiter = rate_limiter(runtime, provider.name)
    try:
        for item in claimed:
            limiter.acquire(item.segments)
    except TimeoutError as exc:
        busy = TemporarySendError(str(exc), provider=provider.name, reason="rate_limited")
        _record_failures(runtime, [(item, busy) for item in claimed])
        raise busy from exc
    return provider


def _record_failures(runtime: Runtime, failures: list[tuple[Claimed, SendError]]) -> bool:
    """Store failed attempts in one transaction; True when any of them should be retried."""
    retry = False
    with runtime.sessions.begin() as session:
        for item, error in failures:
            assert isinstance(error, PermanentSendError | TemporarySendError)
            retry = record_failure(session, item, error) or retry
            log.warning("sms %s: %s (%s)", item.id, type(error).__name__, error.reason)
    return retry


def _mark_unexpected(runtime: Runtime, message_ids: list[int]) -> None:
    with runtime.sessions.begin() as session:
        session.execute(
            update(Message)
            .where(Message.id.in_(message_ids))
            .values(error="maybe_sent: unexpected error")
        )


def handle_inbound_sms(message_id: int) -> None:
    """Answer one stored inbound SMS: keywords first, then the conversation; reply via the queue."""
    runtime = current()
    with runtime.sessions.begin() as session:
        # Inbound rows never use ``attempts``; flipping it 0 → 1 claims the message in
        # this transaction, so a re-run of the job cannot answer the worker twice.
        claimed = session.execute(
            update(Message)
            .where(Message.id == message_id, Message.attempts == 0)
            .values(attempts=1)
            .execution_options(synchronize_session=False)
        )
        if matched_rows(claimed) != 1:
            return
        message = session.get_one(Message, message_id)
        worker = session.get_one(Worker, message.worker_id)
        phone = message.phone  # read first: a DELETE turns the row's number into a pseudonym
        reply, to_opted_out = _reply_to(session, message, worker, runtime)
        if reply:
            send_sms(
                session,
                phone=phone,
                body=reply,
                provider=runtime.settings.sms_provider,
                worker_id=worker.id,
                to_opted_out=to_opted_out,
            )


def _reply_to(
    session: Session, message: Message, worker: Worker, runtime: Runtime
) -> tuple[str | None, bool]:
    """The reply to an inbound SMS and whether it may go to an opted-out number."""
    intent = opt_intent(message.body)
    if intent is OptIntent.OPT_OUT:
        workers.set_opted_out(session, worker.msisdn, True)
        return conversation.text_for("stopped", worker.language), True
    if intent is OptIntent.OPT_IN:
        workers.set_opted_out(session, worker.msisdn, False)
        return conversation.text_for("started", worker.language), False
    if worker.opted_out_at is not None:
        return None, False  # an opted-out worker's message is stored, never answered
    text = inbound_text(runtime.store, message)
    return conversation.handle_sms(session, text, worker=worker, runtime=runtime), False
