"""Broadcast: one text to a filtered set of workers, in batches, throttled, skipping opted-out ones.

Each batch is one transaction that stores its messages as queued and queues one
``send_batch`` job after commit; the job sends through the provider's bulk API (AT
takes many recipients per call) and waits for the channel's shared rate limit, so a
large broadcast slows down to the contracted rate instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from core.jobs import enqueue
from core.medium import count_segments
from gateway.errors import GatewayError
from gateway.outbound import SEND_RETRY, new_outbound
from gateway.providers.africastalking import BULK_BATCH_SIZE
from workers import services as workers


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
    """What a broadcast queued."""

    recipients: int
    batches: int
    segments_each: int


def broadcast_recipients(
    session: Session, *, country: str | None = None, language: str | None = None
) -> list[Recipient]:
    """Active workers who have not opted out, optionally of one country and language."""
    query = workers.reachable(country=country, language=language)
    return [Recipient(wid, phone) for wid, phone in session.execute(query)]


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
    batch_size: int = BULK_BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> BroadcastResult:
    """Queue a broadcast batch by batch (one transaction each), reporting (done, total)."""
    # Like a job or a CLI command, this owns its transactions: a failure midway keeps
    # the batches already queued, and the progress says how far it got.
    if not body.strip():
        raise EmptyBroadcast("a broadcast needs a message text")
    with sessions() as session:
        recipients = broadcast_recipients(session, country=country, language=language)
    batches = 0
    for start in range(0, len(recipients), batch_size):
        batch = recipients[start : start + batch_size]
        with sessions.begin() as session:
            queue_batch(session, batch, body=body, provider=provider)
        batches += 1
        if progress is not None:
            progress(start + len(batch), len(recipients))
    return BroadcastResult(len(recipients), batches, count_segments(body).segments)
