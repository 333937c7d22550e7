"""The gateway's records: every SMS in and out, and every USSD session."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import (
    Base,
    created_at,
    currency_code,
    intpk,
    money_minor,
    msisdn,
    str_enum,
    updated_at,
)


class Direction(StrEnum):
    """Which way a message travelled."""

    INBOUND = "in"
    OUTBOUND = "out"


class Message(Base):
    """One SMS, inbound or outbound, with its provider identity and delivery lifecycle."""

    __tablename__ = "messages"
    __table_args__ = (
        # A provider may post the same message twice; its own id makes the second a no-op.
        UniqueConstraint("provider", "provider_message_id"),
        CheckConstraint("segments >= 0", name="segments_non_negative"),
        CheckConstraint("(cost_minor IS NULL) = (cost_currency IS NULL)", name="cost_has_currency"),
        Index("ix_messages_phone_created_at", "phone", "created_at"),
        Index("ix_messages_status_created_at", "status", "created_at"),
    )

    id: Mapped[intpk]
    direction: Mapped[Direction] = mapped_column(str_enum(Direction, length=3))
    channel: Mapped[str] = mapped_column(String(10), default="sms")
    provider: Mapped[str] = mapped_column(String(20))
    provider_message_id: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[msisdn]  # the worker's side of the conversation
    service_address: Mapped[str | None] = mapped_column(String(20))  # shortcode or sender id
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("workers.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    segments: Mapped[int] = mapped_column(Integer, default=1)
    encoding: Mapped[str | None] = mapped_column(String(8))  # "GSM-7" or "UCS-2"
    cost_minor: Mapped[money_minor | None]
    cost_currency: Mapped[currency_code | None]
    error: Mapped[str | None] = mapped_column(String(200))
    network_code: Mapped[str | None] = mapped_column(String(10))
    # The provider's last status word as it came (kept even when we have no mapping).
    provider_status: Mapped[str | None] = mapped_column(String(40))
    # The provider's own timestamp of an inbound SMS: with sender, recipient and text it
    # identifies an AT message that came without an id (replays carry the same date).
    provider_date: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]


class UssdSession(Base):
    """One USSD session from first dial to the provider's end-of-session notification."""

    __tablename__ = "ussd_sessions"
    __table_args__ = (
        UniqueConstraint("provider", "session_id"),
        CheckConstraint("(cost_minor IS NULL) = (cost_currency IS NULL)", name="cost_has_currency"),
        Index("ix_ussd_sessions_phone_started_at", "phone", "started_at"),
    )

    id: Mapped[intpk]
    provider: Mapped[str] = mapped_column(String(20), default="africastalking")
    session_id: Mapped[str] = mapped_column(String(100))
    # None only for a session we know from its end notice alone, whose number did not parse.
    phone: Mapped[msisdn | None]
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("workers.id"), index=True)
    service_code: Mapped[str] = mapped_column(String(30))
    network_code: Mapped[str | None] = mapped_column(String(10))
    # AT's `text` accumulates every input of the session; what we have already seen
    # tells the next hop's new input apart from the old ones. It may hold a PIN, so the
    # row keeps it masked (``seen_text``, for people) and as a keyed digest
    # (``seen_digest``, HMAC-SHA256, for recognising it in the next hop).
    seen_text: Mapped[str] = mapped_column(Text, default="")
    seen_digest: Mapped[str | None] = mapped_column(String(64))
    hops: Mapped[int] = mapped_column(Integer, default=0)
    last_screen: Mapped[str | None] = mapped_column(Text)
    # The engine's step the last screen came from ("main.menu"): analytics count by it,
    # so one step's languages and pages add up (the screen text differs by both).
    last_node: Mapped[str | None] = mapped_column(String(80))
    started_at: Mapped[created_at]
    last_hop_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    end_status: Mapped[str | None] = mapped_column(String(20))
    provider_status: Mapped[str | None] = mapped_column(String(40))  # AT's word, as sent
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    cost_minor: Mapped[money_minor | None]
    cost_currency: Mapped[currency_code | None]
    error: Mapped[str | None] = mapped_column(String(200))


class HeldDeliveryReport(Base):
    """A delivery report that overtook the send response: kept until the message has the id.

    A provider can report on a message before its send call has returned to us (AT and
    Twilio both say callbacks may arrive early), so no message carries the id yet.
    ``gateway.outbound.record_sent`` applies and deletes these once it stores the id.
    """

    __tablename__ = "held_delivery_reports"
    __table_args__ = (
        Index("ix_held_delivery_reports_provider_id", "provider", "provider_message_id"),
    )

    id: Mapped[intpk]
    provider: Mapped[str] = mapped_column(String(20))
    provider_message_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str | None] = mapped_column(String(20))  # ours; None when unknown
    provider_status: Mapped[str] = mapped_column(String(40))
    failure_reason: Mapped[str | None] = mapped_column(String(200))
    network_code: Mapped[str | None] = mapped_column(String(10))
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[created_at]
