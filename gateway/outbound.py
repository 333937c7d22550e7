"""Outbound SMS: store and queue (``send_sms``), claim for sending, record what happened.

The send job (``gateway.jobs``) calls the provider between two transactions: it first
*claims* messages (a conditional UPDATE from queued/errored to sending, so two runs
of one job can never both send), then records the provider's answer or the error.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from rq import Retry
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from core.db import matched_rows, utcnow
from core.jobs import enqueue
from core.medium import count_segments, to_gsm7
from core.money import to_minor
from core.phone import normalize_msisdn
from gateway.delivery import DeliveryStatus, advance
from gateway.errors import PermanentSendError, TemporarySendError
from gateway.models import Direction, Message
from gateway.providers.base import SendResult
from gateway.reports import release_held
from workers import services as workers
from workers.models import Worker

log = logging.getLogger("kazi.gateway.outbound")

#: Backoff of the design: a failed send is retried after 5 and 10 more minutes, then fails.
SEND_RETRY = Retry(max=2, interval=[300, 600])
#: Attempts a message gets in all: the first one plus the retries.
MAX_ATTEMPTS = 1 + SEND_RETRY.max

_CLAIMABLE = (DeliveryStatus.QUEUED, DeliveryStatus.ERRORED)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A message this job run owns: it alone may hand it to the provider."""

    id: int
    phone: str
    body: str
    provider: str
    attempt: int
    segments: int = 1  # what the channel's rate limit counts


def send_sms(
    session: Session,
    *,
    phone: str,
    body: str,
    provider: str,
    worker_id: int | None = None,
    to_opted_out: bool = False,
) -> Message:
    """Store an outbound SMS as queued and send it through ``provider`` after commit.

    A number that opted out gets nothing (the message is stored as failed, reason
    ``opted_out``) unless ``to_opted_out`` is set, which only the STOP confirmation does.
    """
    message = new_outbound(session, phone=phone, body=body, provider=provider, worker_id=worker_id)
    if not to_opted_out and workers.opted_out_since(session, message.phone) is not None:
        message.status, message.error = DeliveryStatus.FAILED, "opted_out"
        return message
    enqueue(
        session,
        "gateway.jobs.send_message",
        message.id,
        queue="sms",
        job_id=f"sms-{message.id}",
        retry=SEND_RETRY,
    )
    return message


def requeue_stuck(
    session: Session,
    *,
    queued_for: timedelta = timedelta(minutes=30),
    errored_for: timedelta = timedelta(minutes=20),
    limit: int = 1000,
) -> list[int]:
    """Queue the send job again for messages whose job was lost; return their ids.

    A job can be lost when Redis fails right after the commit that queued it, or
    when rq loses a scheduled retry. Requeueing is always safe: the claim lets only
    one run send. ``errored_for`` exceeds the longest retry interval (10 minutes) so
    a retry rq still holds normally goes first. Run it from cron (``flask sms sweep``).
    """
    now = utcnow()
    ids = session.scalars(
        select(Message.id)
        .where(
            Message.direction == Direction.OUTBOUND,
            or_(
                and_(
                    Message.status == DeliveryStatus.QUEUED, Message.updated_at < now - queued_for
                ),
                and_(
                    Message.status == DeliveryStatus.ERRORED,
                    Message.updated_at < now - errored_for,
                ),
            ),
        )
        .order_by(Message.id)
        .limit(limit)
    ).all()
    for message_id in ids:
        enqueue(
            session,
            "gateway.jobs.send_message",
            message_id,
            queue="sms",
            job_id=f"sms-{message_id}",
        )
    return list(ids)


def stuck_sending(session: Session, *, older_than: timedelta = timedelta(minutes=10)) -> int:
    """How many messages sit in ``sending`` (maybe sent, never confirmed) for an operator to check."""
    return (
        session.scalar(
            select(func.count(Message.id)).where(
                Message.status == DeliveryStatus.SENDING, Message.updated_at < utcnow() - older_than
            )
        )
        or 0
    )


def new_outbound(
    session: Session, *, phone: str, body: str, provider: str, worker_id: int | None
) -> Message:
    """Store one queued outbound message (no job); the number is normalised to E.164 here."""
    e164 = normalize_msisdn(phone).e164
    # Look-alike punctuation in GSM-7 (a curly quote must not make the SMS UCS-2).
    body = to_gsm7(body)
    info = count_segments(body)
    message = Message(
        direction=Direction.OUTBOUND,
        provider=provider,
        phone=e164,
        worker_id=worker_id,
        body=body,
        status=DeliveryStatus.QUEUED,
        segments=info.segments,
        encoding=info.encoding,
        attempts=0,
    )
    session.add(message)
    session.flush()
    return message


def claim(session: Session, message_ids: Sequence[int]) -> list[Claimed]:
    """Claim the still-sendable messages among ``message_ids``; skip all others."""
    claimed = []
    for message_id in message_ids:
        # The WHERE on status makes this atomic: of two concurrent runs, exactly one
        # sees rowcount 1. A re-run after a send finds "sending" or later and skips.
        result = session.execute(
            update(Message)
            .where(Message.id == message_id, Message.status.in_(_CLAIMABLE))
            .values(status=DeliveryStatus.SENDING, attempts=Message.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if matched_rows(result) != 1:
            continue
        message = session.get_one(Message, message_id, populate_existing=True)
        since = workers.opted_out_since(session, message.phone)
        # Stored after the opt-out: send_sms let it through on purpose (the STOP
        # confirmation). Stored before it: the worker said STOP since; honour it.
        if since is not None and since > message.created_at:
            message.status, message.error = DeliveryStatus.FAILED, "opted_out"
            continue
        claimed.append(
            Claimed(
                message.id,
                message.phone,
                message.body,
                message.provider,
                message.attempts,
                max(1, message.segments),
            )
        )
    return claimed


def record_sent(session: Session, message_id: int, result: SendResult) -> Message:
    """Store the provider's answer: its id, status, segments, encoding and cost."""
    message = session.get_one(Message, message_id)
    # advance, not assignment: a delivery report may already have overtaken this answer.
    message.status = advance(message.status, result.status)
    message.provider_message_id = result.provider_message_id
    message.segments = result.segments
    message.encoding = result.encoding
    message.sent_at = utcnow()
    message.error = None
    minor = to_minor(result.cost_amount, result.cost_currency)
    if minor is not None:
        message.cost_minor, message.cost_currency = minor, result.cost_currency
    # Reports that arrived before this answer (held, not dropped) apply now.
    release_held(session, message)
    pseudonym = workers.erased_pseudonym(session, message.worker_id)
    if pseudonym is not None:
        # The last word to a forgotten worker (the DELETE confirmation) went to the real
        # number; now that it is sent, the row keeps the pseudonym like the rest.
        message.phone = pseudonym
    return message


def record_failure(
    session: Session, claimed: Claimed, error: PermanentSendError | TemporarySendError
) -> bool:
    """Store a failed attempt; True when the job should raise so rq retries it."""
    message = session.get_one(Message, claimed.id)
    code = f" ({error.provider_code})" if error.provider_code else ""
    if isinstance(error, PermanentSendError):
        message.status, message.error = advance(message.status, DeliveryStatus.FAILED), error.reason
        if error.opted_out:
            # AT's blacklist / DND and Twilio's 21610: the worker blocked us at the network.
            workers.set_opted_out(session, message.phone, True)
        return False
    if error.maybe_sent:
        # The provider may have taken it (read timeout) and neither AT nor Twilio takes an
        # idempotency key: resending could reach the worker twice. The message stays
        # "sending" with error "maybe_sent" for an operator to check; no retry.
        message.error = f"maybe_sent: {error.reason}{code}"[:200]
        log.warning("sms %s may have been sent (%s); not retrying", claimed.id, error.reason)
        return False
    if claimed.attempt >= MAX_ATTEMPTS:
        message.status = advance(message.status, DeliveryStatus.FAILED)
        message.error = f"gave_up: {error.reason}{code}"[:200]
        return False
    message.status = advance(message.status, DeliveryStatus.ERRORED)
    message.error = f"{error.reason}{code}"[:200]
    return True


@dataclass(frozen=True)
class SmsChannel:
    """Worker notices as SMS through one provider (``workers.notify.Channel``)."""

    provider: str

    def send_text(self, session: Session, *, worker: Worker, text: str) -> None:
        """Store and queue the notice in the caller's transaction; sent after commit."""
        send_sms(
            session, phone=worker.msisdn, body=text, provider=self.provider, worker_id=worker.id
        )
