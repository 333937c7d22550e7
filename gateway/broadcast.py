"""Broadcast: one text to a filtered set of workers, in batches, throttled, skipping opted-out ones.

Each batch is one transaction that stores its messages as queued and queues one
``send_batch`` job after commit; the job sends through the provider's bulk API (AT
takes many recipients per call) and waits for the channel's shared rate limit, so a
large broadcast slows down to the contracted rate instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from core.db import utcnow
from core.jobs import enqueue
from core.medium import count_segments
from gateway.errors import GatewayError
from gateway.models import Direction, Message, UssdSession
from gateway.outbound import SEND_RETRY, new_outbound
from gateway.providers.africastalking import BULK_BATCH_SIZE
from workers import services as workers
from workers.models import Worker

#: The SMS price per segment is what the provider charged lately: its recorded costs.
PRICE_LOOKBACK = timedelta(days=30)


class EmptyBroadcast(GatewayError):
    """A broadcast without a text."""

    code = "empty_broadcast"


@dataclass(frozen=True, slots=True)
class Recipient:
    """A worker a broadcast goes to."""

    worker_id: int
    phone: str


@dataclass(frozen=True, slots=True)
class BroadcastResult:
    """What a broadcast queued: how many, and the span of ids its messages took."""

    recipients: int
    batches: int
    segments_each: int
    first_message_id: int | None = None
    last_message_id: int | None = None


@dataclass(frozen=True, slots=True)
class Audience:
    """Who a broadcast goes to, among active workers who have not opted out."""

    country: str | None = None
    language: str | None = None
    active_since: datetime | None = None  # dialled or texted in since then
    registered_only: bool = False


def _audience_query(audience: Audience) -> Select[int, str]:
    query = workers.reachable(
        country=audience.country,
        language=audience.language,
        registered=audience.registered_only,
    )
    if audience.active_since is not None:
        since = audience.active_since
        dialled = exists().where(
            UssdSession.worker_id == Worker.id, UssdSession.started_at >= since
        )
        texted = exists().where(
            Message.worker_id == Worker.id,
            Message.direction == Direction.INBOUND,
            Message.created_at >= since,
        )
        query = query.where(or_(dialled, texted))
    return query


def broadcast_recipients(
    session: Session,
    *,
    country: str | None = None,
    language: str | None = None,
    audience: Audience | None = None,
) -> list[Recipient]:
    """Active workers who have not opted out, filtered by ``audience`` (or country, language)."""
    audience = audience or Audience(country=country, language=language)
    return [Recipient(wid, phone) for wid, phone in session.execute(_audience_query(audience))]


def audience_by_language(session: Session, audience: Audience) -> dict[str, int]:
    """How many workers the audience holds, per language they speak (what a preview counts)."""
    ids = _audience_query(audience).subquery()
    rows = session.execute(
        select(Worker.language, func.count())
        .join(ids, ids.c.id == Worker.id)
        .group_by(Worker.language)
        .order_by(Worker.language)
    )
    return {language: int(n) for language, n in rows}


@dataclass(frozen=True, slots=True)
class SegmentPrice:
    """What one SMS segment cost lately, in minor units of one currency (an average)."""

    currency: str
    minor_per_segment: float
    messages: int  # how many priced messages the average is over

    def estimate(self, segments: int) -> tuple[int, str]:
        """The cost of ``segments`` segments, rounded to whole minor units."""
        return round(self.minor_per_segment * segments), self.currency


def segment_price(
    session: Session, provider: str, now: datetime | None = None
) -> SegmentPrice | None:
    """The average cost per segment of ``provider``'s recent outbound SMS, in its most used
    currency; None before any priced message (AT and Twilio report a cost on each send)."""
    since = (now or utcnow()) - PRICE_LOOKBACK
    row = session.execute(
        select(
            Message.cost_currency,
            func.sum(Message.cost_minor),
            func.sum(Message.segments),
            func.count(),
        )
        .where(
            Message.direction == Direction.OUTBOUND,
            Message.provider == provider,
            Message.cost_currency.is_not(None),
            Message.created_at >= since,
        )
        .group_by(Message.cost_currency)
        .order_by(func.count().desc(), Message.cost_currency)
        .limit(1)
    ).first()
    if row is None or not row[2]:
        return None
    currency, cost, segments, count = row
    return SegmentPrice(str(currency), int(cost or 0) / int(segments), int(count))


def broadcast_progress(
    session: Session, first_id: int, last_id: int, bodies: Iterable[str]
) -> dict[str, int]:
    """How a broadcast's messages stand, by delivery status (ids in its span, its texts)."""
    rows = session.execute(
        select(Message.status, func.count())
        .where(
            Message.id.between(first_id, last_id),
            Message.direction == Direction.OUTBOUND,
            Message.body.in_(list(bodies)),
        )
        .group_by(Message.status)
        .order_by(Message.status)
    )
    return {str(status): int(n) for status, n in rows}


def queue_batch(
    session: Session, recipients: Sequence[Recipient], *, body: str, provider: str
) -> list[int]:
    """Store one batch of broadcast messages and queue their bulk send after commit."""
    ids = [
        new_outbound(session, phone=r.phone, body=body, provider=provider, worker_id=r.worker_id).id
        for r in recipients
    ]
    if ids:
        enqueue(
            session,
            "gateway.jobs.send_batch",
            ids,
            queue="sms",
            job_id=f"sms-batch-{ids[0]}",
            retry=SEND_RETRY,
        )
    return ids


def run_broadcast(
    sessions: sessionmaker[Session],
    *,
    body: str,
    provider: str,
    country: str | None = None,
    language: str | None = None,
    audience: Audience | None = None,
    batch_size: int = BULK_BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> BroadcastResult:
    """Queue a broadcast batch by batch (one transaction each), reporting (done, total).

    The recipients are ``audience`` (or the workers of ``country`` and ``language``).
    """
    # Like a job or a CLI command, this owns its transactions: a failure midway keeps
    # the batches already queued, and the progress says how far it got.
    if not body.strip():
        raise EmptyBroadcast("a broadcast needs a message text")
    audience = audience or Audience(country=country, language=language)
    with sessions() as session:
        recipients = broadcast_recipients(session, audience=audience)
    batches, ids = 0, []
    for start in range(0, len(recipients), batch_size):
        batch = recipients[start : start + batch_size]
        with sessions.begin() as session:
            queued = queue_batch(session, batch, body=body, provider=provider)
        ids.extend(queued[:1] + queued[-1:])
        batches += 1
        if progress is not None:
            progress(start + len(batch), len(recipients))
    return BroadcastResult(
        len(recipients),
        batches,
        count_segments(body).segments,
        min(ids) if ids else None,
        max(ids) if ids else None,
    )


def for_language(audience: Audience, language: str) -> Audience:
    """The part of ``audience`` that speaks ``language``."""
    return replace(audience, language=language)
