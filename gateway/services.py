"""Gateway use cases behind the webhooks: inbound SMS, delivery reports, USSD hops, opt-out.

Every function takes a Session and never commits: the view, job or CLI that calls
it owns the transaction. Nothing here imports Flask or talks to the network.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import utcnow
from core.jobs import enqueue
from core.kvstore import KeyValueStore
from core.money import to_minor
from core.phone import normalize_msisdn
from core.runtime import Runtime
from core.secrets import keyed_digest
from gateway import conversation
from gateway.delivery import DeliveryStatus
from gateway.inbound import (
    InboundSms,
    OptOutNotice,
    UssdRequest,
    UssdSessionEnd,
    join_inputs,
    mask_inputs,
    ussd_progress,
)
from gateway.models import Direction, Message, UssdSession
from gateway.optout import opt_intent
from gateway.reports import apply_delivery_report
from gateway.ussd import render_ussd
from workers import centres
from workers import services as workers

log = logging.getLogger("kazi.gateway")

__all__ = [
    "apply_delivery_report",
    "handle_ussd_hop",
    "message_log",
    "record_opt_out",
    "receive_sms",
    "record_ussd_end",
    "store_inbound_sms",
]

#: An inbound SMS without a provider id that repeats the same text from the same phone
#: within this window, with nothing sent to that phone in between, is a provider retry.
CONTENT_DEDUPE_WINDOW = timedelta(seconds=5)
#: How long the clear text of an SMS whose stored body is masked (it holds a PIN) waits
#: in the key-value store for its handling job; never in a row.
RAW_SMS_TTL = timedelta(minutes=15)


def store_inbound_sms(
    session: Session, sms: InboundSms, *, default_language: str, store: KeyValueStore
) -> Message | None:
    """Store an incoming SMS once, its PIN masked; None when it is a duplicate of one stored."""
    # Without a provider id nothing unique guards a replay posted twice at once, so
    # messages from one sender are checked and stored one at a time: a write first
    # (SQLite's write lock; see handle_ussd_hop), then the worker's row lock, which
    # also holds on PostgreSQL once a first contact has created the row.
    workers.lock_by_phone(session, sms.sender)
    worker = workers.contact(session, sms.sender, default_language=default_language)
    workers.lock_by_phone(session, sms.sender)
    body = conversation.masked_sms(store, sms.sender, sms.text)
    if _is_duplicate(session, sms, body):
        return None
    message = Message(
        direction=Direction.INBOUND,
        channel=sms.channel,
        provider=sms.provider,
        provider_message_id=sms.provider_message_id,
        provider_date=sms.received_at,
        phone=sms.sender,
        service_address=sms.recipient[:20],
        worker_id=worker.id,
        body=body,
        status=DeliveryStatus.RECEIVED,
        segments=sms.segments or 1,
        network_code=(sms.network_code or "")[:10] or None,
    )
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        # The same provider id committed by a concurrent request between our check and insert.
        return None
    if body != sms.text:
        ttl = RAW_SMS_TTL.total_seconds()
        try:
            store.set(_raw_sms_key(message.id), sms.text.encode(), ttl_seconds=ttl)
        except Exception:  # noqa: BLE001 - the SMS is kept (masked); only its PIN is lost
            log.warning("inbound sms %s: store unavailable, its clear text dropped", message.id)
    return message


def _raw_sms_key(message_id: int) -> str:
    return f"gateway:sms-text:{message_id}"


def inbound_text(store: KeyValueStore, message: Message) -> str:
    """The text of an inbound SMS as the worker sent it, for its one handling.

    A masked body's clear text is read from the key-value store once and dropped; after
    its expiry the masked body is all there is (a PAY then fails its PIN check safely).
    """
    key = _raw_sms_key(message.id)
    raw = store.get(key)
    if raw is None:
        return message.body
    store.delete(key)
    return raw.decode()


def masked_payload(raw: dict[str, str], text: str, masked: str) -> dict[str, Any]:
    """A provider's form as it may be stored: any field holding the clear text, masked."""
    if text == masked:
        return dict(raw)
    return {name: masked if value == text else value for name, value in raw.items()}


def receive_sms(
    session: Session,
    sms: InboundSms,
    *,
    default_language: str,
    store: KeyValueStore,
    handle: bool = True,
) -> Message | None:
    """Store an incoming SMS and queue its handling after commit; None for a duplicate.

    With ``handle`` false (the sender is over its flood limit) it is stored, marked
    ``rate_limited``, and nothing runs.
    """
    message = store_inbound_sms(session, sms, default_language=default_language, store=store)
    # STOP and START are honoured even from a flooding number (opt-out always is).
    if message is not None and not handle and opt_intent(sms.text) is None:
        message.error = "rate_limited"
        log.warning(
            "inbound sms %s from %s over the flood limit: not handled", message.id, sms.sender
        )
    elif message is not None:
        enqueue(
            session,
            "gateway.jobs.handle_inbound_sms",
            message.id,
            queue="sms",
            job_id=f"sms-in-{message.id}",
        )
    return message


def _is_duplicate(session: Session, sms: InboundSms, body: str) -> bool:
    """True when this SMS was stored already (by provider id, else by its stored body)."""
    query = select(Message.id).where(
        Message.direction == Direction.INBOUND, Message.provider == sms.provider
    )
    if sms.provider_message_id:
        query = query.where(Message.provider_message_id == sms.provider_message_id)
        return session.scalars(query.limit(1)).first() is not None
    same_text = query.where(Message.phone == sms.sender, Message.body == body)
    if sms.received_at is not None:
        # A replay carries the provider's own date: the same sender, recipient, date and
        # text is the same message however long after (and whatever we replied since).
        return (
            session.scalars(
                same_text.where(
                    Message.service_address == sms.recipient[:20],
                    Message.provider_date == sms.received_at,
                ).limit(1)
            ).first()
            is not None
        )
    earlier = session.scalars(
        same_text.where(Message.created_at >= utcnow() - CONTENT_DEDUPE_WINDOW)
        .order_by(Message.id.desc())
        .limit(1)
    ).first()
    if earlier is None:
        return False
    # As courier does: once we have written to the worker since, the same text is a
    # new answer (a "1" to the next question), not a provider retry.
    answered = select(Message.id).where(
        Message.direction == Direction.OUTBOUND, Message.phone == sms.sender, Message.id > earlier
    )
    return session.scalars(answered.limit(1)).first() is None


def handle_ussd_hop(
    session: Session, request: UssdRequest, *, default_language: str, runtime: Runtime
) -> str:
    """Answer one USSD hop with a ``CON``/``END`` body, remembering what the session saw."""
    # A write first: it takes the worker's row lock (PostgreSQL) and SQLite's write lock
    # before anything is read, so two hops of one worker run one after the other, and a
    # job's commit in between cannot leave this hop on a stale SQLite read snapshot
    # ("database is locked" at the first write, which busy_timeout does not wait out).
    locked = workers.lock_by_phone(session, request.phone)
    digest = _digest(runtime)
    record = _ussd_session(session, request.provider, request.session_id)
    if (
        record is not None
        and record.hops
        and record.last_screen
        and record.seen_digest == digest(request.text)
    ):
        # AT retried a hop we answered (our answer was slow or lost): same screen again,
        # without feeding the same input to the flow twice.
        return record.last_screen
    worker = workers.contact(
        session, request.phone, default_language=default_language, known=locked
    )
    if record is None:
        record = UssdSession(
            provider=request.provider,
            session_id=request.session_id,
            phone=request.phone,
            worker_id=worker.id,
            service_code=request.service_code[:30],
            network_code=(request.network_code or "")[:10] or None,
            seen_text="",
            hops=0,
        )
        session.add(record)
    # Only the masked text and a keyed digest are kept: the text may hold the PIN.
    seen = record.seen_digest if record.hops else None
    progress = ussd_progress(request.text, seen, record.seen_text, digest)
    new_input = progress.new_input
    if not record.hops and centres.is_centre_code(request.text):
        # *384*12*CODE#: a partner centre's registration code rides in the first text
        # (workers.centres); it is not an answer, so the flow starts as on a plain dial.
        if centres.join_by_code(session, worker, request.text) is None:
            log.info("ussd %s: no centre has the code dialled", request.session_id)
        new_input = ""
    turn = conversation.handle_ussd(session, request, new_input, worker=worker, runtime=runtime)
    body = render_ussd(turn.text, turn.more)
    record.seen_text = join_inputs(progress.masked_seen, turn.shown_input)
    record.seen_digest = digest(request.text)
    record.hops += 1
    record.last_screen = body
    record.last_node = turn.node
    record.last_hop_at = utcnow()
    return body


def _digest(runtime: Runtime) -> Callable[[str], str]:
    return functools.partial(keyed_digest, key=runtime.settings.secret_key)


def _ussd_session(session: Session, provider: str, session_id: str) -> UssdSession | None:
    params = {"provider": provider, "session_id": session_id}
    return session.scalars(_USSD_SESSION, params).one_or_none()


#: Built once, bound at execute time (every hop runs it).
_USSD_SESSION = select(UssdSession).where(
    UssdSession.provider == bindparam("provider"), UssdSession.session_id == bindparam("session_id")
)


def record_ussd_end(session: Session, end: UssdSessionEnd) -> UssdSession:
    """Store how a USSD session ended: status, duration, cost and error."""
    record = _ussd_session(session, end.provider, end.session_id)
    if record is None:
        # A session that failed before reaching us (AT could not call the app) still
        # deserves a row: it is exactly what the operator needs to see.
        record = UssdSession(
            provider=end.provider,
            session_id=end.session_id,
            phone=end.phone,
            service_code=(end.service_code or "")[:30],
            network_code=(end.network_code or "")[:10] or None,
            seen_text="",
            hops=0,
        )
        session.add(record)
    record.ended_at = end.ended_at or utcnow()
    record.end_status = str(end.status)
    record.provider_status = end.provider_status[:40]
    record.duration_ms = end.duration_ms
    minor = to_minor(end.cost_amount, end.cost_currency)
    record.cost_minor, record.cost_currency = (
        (minor, end.cost_currency) if minor is not None else (None, None)
    )
    record.error = end.error[:200] if end.error else None
    return record


def ussd_end_payload(
    record: UssdSession, end: UssdSessionEnd, *, runtime: Runtime
) -> dict[str, Any]:
    """AT's end-of-session form as it may be stored: its ``input`` (every input of the
    session, a PIN among them) replaced by the session's masked text."""
    if not end.final_input:
        return dict(end.raw)
    seen = record.seen_digest if record.hops else None
    progress = ussd_progress(end.final_input, seen, record.seen_text, _digest(runtime))
    masked = join_inputs(progress.masked_seen, mask_inputs(progress.new_input))
    return masked_payload(end.raw, end.final_input, masked)


def record_opt_out(session: Session, notice: OptOutNotice) -> None:
    """A worker opted out of our sender at the provider (AT's opt-out notice): honour it."""
    # Idempotent: a replayed notice keeps the first opt-out time.
    workers.set_opted_out(session, notice.phone, True)
    log.info("%s: %s opted out of sender %s", notice.provider, notice.phone, notice.sender_id)


def message_log(
    session: Session, *, phone: str | None = None, limit: int = 50, before_id: int | None = None
) -> list[Message]:
    """Messages newest first, optionally of one number (typed in any usual form), a page at a time."""
    # What the console's message log and the phone simulator read: the console provider
    # records into this table too, so it shows what "would have been sent" in any process.
    query = select(Message).order_by(Message.id.desc()).limit(limit)
    if phone is not None:
        query = query.where(Message.phone == normalize_msisdn(phone).e164)
    if before_id is not None:
        query = query.where(Message.id < before_id)
    return list(session.scalars(query))
