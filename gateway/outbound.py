"""Outbound SMS: one service stores the message and queues its send job after commit."""

from __future__ import annotations

from rq import Retry
from sqlalchemy.orm import Session

from core.jobs import enqueue
from gateway.delivery import DeliveryStatus
from gateway.encoding import count_segments
from gateway.models import Direction, Message
from gateway.msisdn import normalize_msisdn

#: Backoff of the design: a failed send is retried after 5 and 10 more minutes, then fails.
SEND_RETRY = Retry(max=2, interval=[300, 600])


def send_sms(
    session: Session, *, phone: str, body: str, provider: str, worker_id: int | None = None
) -> Message:
    """Store an outbound SMS as queued and send it through ``provider`` after commit."""
    e164 = normalize_msisdn(phone).e164
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
    )
    session.add(message)
    session.flush()
    from gateway.jobs import send_message  # the job module imports this one

    enqueue(
        session, send_message, message.id, queue="sms", job_id=f"sms-{message.id}", retry=SEND_RETRY
    )
    return message
