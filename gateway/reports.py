"""Delivery reports applied to outbound messages, and held when they overtake the send answer.

A provider may report on a message before its send call has returned to us: the report
then names an id no message carries yet. Dropping it would lose the only news of that
message (AT sends each report once), so it is *held* and applied by ``release_held``
when ``gateway.outbound.record_sent`` stores the id; ``apply_held`` sweeps up any a race
left behind. Functions take a Session and never commit.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.db import matched_rows, utcnow
from gateway.delivery import DeliveryStatus, advance
from gateway.errors import IllegalTransition
from gateway.inbound import DeliveryReport
from gateway.models import Direction, HeldDeliveryReport, Message
from workers import services as workers

log = logging.getLogger("kazi.gateway.reports")

#: How long a report waits for its message's id: a send answer comes within seconds,
#: a lost one is requeued within the hour; a week is far past either.
HELD_FOR = timedelta(days=7)


def apply_delivery_report(session: Session, report: DeliveryReport) -> Message | None:
    """Move the reported outbound message along its lifecycle; hold the report if none has the id."""
    message = _outbound(session, report.provider, report.provider_message_id)
    if message is None:
        log.info(
            "%s delivery report for %s held: no message has that id yet",
            report.provider,
            report.provider_message_id,
        )
        hold(session, report)
        return None
    _apply(session, message, report)
    return message


def _outbound(session: Session, provider: str, provider_message_id: str) -> Message | None:
    # Only outbound messages get delivery reports; an inbound one sharing the id is not it.
    return session.scalars(
        select(Message)
        .where(
            Message.direction == Direction.OUTBOUND,
            Message.provider == provider,
            Message.provider_message_id == provider_message_id,
        )
        .with_for_update()
    ).one_or_none()


def _apply(session: Session, message: Message, report: DeliveryReport) -> None:
    message.provider_status = report.provider_status[:40]
    if report.status is not None:
        # An unknown status moves nothing: the provider's word and raw event are kept.
        before = message.status
        try:
            message.status = advance(message.status, report.status)
        except IllegalTransition:
            # "received" for a message we sent: the provider contradicts itself. Refusing
            # would only make it retry (Twilio raises 11200); keep the word, move nothing.
            log.warning(
                "%s reported %s for outbound message %s; ignored",
                report.provider,
                report.status,
                message.id,
            )
        if message.status != before:
            # Only a report that moved the message may rewrite its details; a stale one
            # (e.g. "sent" after "delivered") must not blank a failure reason.
            if report.failure_reason and message.status != DeliveryStatus.DELIVERED:
                message.error = report.failure_reason[:200]
            if message.status == DeliveryStatus.DELIVERED:
                message.delivered_at = utcnow()
    message.network_code = (report.network_code or message.network_code or "")[:10] or None
    if report.opted_out:
        workers.set_opted_out(session, message.phone, True)


def hold(session: Session, report: DeliveryReport) -> HeldDeliveryReport:
    """Keep a report whose message is not known yet (a replay of a held one is kept once)."""
    same = session.scalars(
        select(HeldDeliveryReport).where(
            HeldDeliveryReport.provider == report.provider,
            HeldDeliveryReport.provider_message_id == report.provider_message_id[:100],
            HeldDeliveryReport.provider_status == report.provider_status[:40],
        )
    ).first()
    if same is not None:
        return same
    held = HeldDeliveryReport(
        provider=report.provider,
        provider_message_id=report.provider_message_id[:100],
        status=str(report.status) if report.status is not None else None,
        provider_status=report.provider_status[:40],
        failure_reason=(report.failure_reason or "")[:200] or None,
        network_code=(report.network_code or "")[:10] or None,
        opted_out=report.opted_out,
    )
    session.add(held)
    return held


def release_held(session: Session, message: Message) -> int:
    """Apply (oldest first) and delete the reports held for this message; return how many."""
    if message.provider_message_id is None:
        return 0
    held = list(
        session.scalars(
            select(HeldDeliveryReport)
            .where(
                HeldDeliveryReport.provider == message.provider,
                HeldDeliveryReport.provider_message_id == message.provider_message_id,
            )
            .order_by(HeldDeliveryReport.id)
            .with_for_update()
        )
    )
    for row in held:
        _apply(session, message, _report_of(row, message.phone))
        session.delete(row)
    return len(held)


def apply_held(session: Session, *, limit: int = 1000) -> int:
    """Apply every held report whose message has its id by now (a sweep); return how many.

    Reports held longer than ``HELD_FOR`` are for messages we never sent (another
    system on the same provider account): they are dropped, their raw events stay.
    """
    # A report and the send answer can commit at the same moment, each missing the
    # other; this sweep (``flask sms sweep``) joins them afterwards.
    stale = session.execute(
        delete(HeldDeliveryReport).where(HeldDeliveryReport.received_at < utcnow() - HELD_FOR)
    )
    if matched_rows(stale):
        log.info("dropped %s delivery report(s) held over %s", matched_rows(stale), HELD_FOR)
    rows = session.execute(
        select(HeldDeliveryReport.provider, HeldDeliveryReport.provider_message_id)
        .distinct()
        .limit(limit)
    ).all()
    applied = 0
    for provider, provider_message_id in rows:
        message = _outbound(session, provider, provider_message_id)
        if message is not None:
            applied += release_held(session, message)
    return applied


def _report_of(row: HeldDeliveryReport, phone: str) -> DeliveryReport:
    return DeliveryReport(
        provider=row.provider,
        provider_message_id=row.provider_message_id,
        status=DeliveryStatus(row.status) if row.status else None,
        provider_status=row.provider_status,
        phone=phone,
        failure_reason=row.failure_reason,
        network_code=row.network_code,
        opted_out=row.opted_out,
    )
