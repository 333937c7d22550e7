"""Payouts: withdrawals of a worker's wages to mobile money."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
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


class PayoutStatus(StrEnum):
    """A payout's lifecycle; UNKNOWN is resolved by a status query, never by resending."""

    REQUESTED = "requested"  # recorded with its hold, provider not yet called
    SUBMITTED = "submitted"  # the provider accepted the request; result pending
    UNKNOWN = "unknown"  # the call may or may not have reached the provider
    SETTLED = "settled"
    FAILED = "failed"


class Payout(Base):
    """A withdrawal of a worker's wages to their mobile-money account."""

    __tablename__ = "payouts"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("length(currency) = 3", name="currency_iso"),
        UniqueConstraint("provider", "conversation_id"),
        Index("ix_payouts_status_created_at", "status", "created_at"),
        Index("ix_payouts_worker_id_created_at", "worker_id", "created_at"),
        # One M-Pesa transaction pays one payout: a receipt is never on two of them.
        Index(
            "uq_payouts_receipt",
            "receipt",
            unique=True,
            postgresql_where=text("receipt IS NOT NULL"),
            sqlite_where=text("receipt IS NOT NULL"),
        ),
    )

    id: Mapped[intpk]
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"))
    phone: Mapped[msisdn]
    amount_minor: Mapped[money_minor]
    currency: Mapped[currency_code]
    status: Mapped[PayoutStatus] = mapped_column(
        str_enum(PayoutStatus), default=PayoutStatus.REQUESTED
    )
    provider: Mapped[str] = mapped_column(String(20))
    # Our idempotency key at the provider, stored with the row before any call, so every
    # attempt and every status query names one payment. (The columns keep the names of
    # the first rail, Daraja: OriginatorConversationID and ConversationID.)
    idempotency_key: Mapped[str | None] = mapped_column("originator_id", String(100), unique=True)
    # The provider's own id for the payment.
    provider_reference: Mapped[str | None] = mapped_column("conversation_id", String(100))
    # How many times the submit job reached the provider call; above 0 and still
    # REQUESTED means an earlier attempt may have been sent: query, never resend.
    submit_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    # The id of the latest status query, to match its result when it names no payout.
    status_query_id: Mapped[str | None] = mapped_column(String(100), index=True)
    status_queried_at: Mapped[datetime | None]
    # The failed payout an operator retried with this one; unique: one retry per failure.
    retry_of_id: Mapped[int | None] = mapped_column(ForeignKey("payouts.id"), unique=True)
    receipt: Mapped[str | None] = mapped_column(String(50))
    recipient_name: Mapped[str | None] = mapped_column(String(200))
    result_code: Mapped[str | None] = mapped_column(String(20))
    result_description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]
    submitted_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
