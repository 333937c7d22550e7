"""Payouts: withdrawals of a worker's wages to mobile money."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import (
    Base,
    JSONType,
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
    # How many status queries were sent: the backoff between them grows with it.
    status_queries: Mapped[int] = mapped_column(default=0, server_default="0")
    # When the one resend under the same idempotency key went out (after the resolve
    # window with no proof of payment and a "not found" answer); never a second one.
    resent_at: Mapped[datetime | None]
    # What the provider said that contradicts our books (``Contradiction``); an operator
    # clears it (``contradiction_resolved_at``), and until then the worker cannot withdraw.
    contradiction: Mapped[str | None] = mapped_column(String(30), index=True)
    contradiction_resolved_at: Mapped[datetime | None]
    # What the provider reports having paid, when it differs from ``amount_minor``.
    paid_amount_minor: Mapped[int | None] = mapped_column(BigInteger())
    # The provider's charge for this payment (posted to the fee account) and the float
    # (the paying account's available funds) right after it, as the result reported them.
    fee_minor: Mapped[int | None] = mapped_column(BigInteger())
    float_after_minor: Mapped[int | None] = mapped_column(BigInteger())
    charges_account_minor: Mapped[int | None] = mapped_column(BigInteger())
    receipt: Mapped[str | None] = mapped_column(String(50))
    recipient_name: Mapped[str | None] = mapped_column(String(200))
    result_code: Mapped[str | None] = mapped_column(String(20))
    result_description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]
    submitted_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]


class Contradiction(StrEnum):
    """Ways a provider's answer contradicts what Kazi booked; each waits for an operator."""

    PAID_AFTER_RELEASE = "paid_after_release"  # money returned, then the provider paid it
    AMOUNT_DIFFERS = "amount_differs"  # the provider paid another amount than requested


class RailPause(Base):
    """A rail's payouts paused because the provider says our configuration is wrong."""

    __tablename__ = "payout_rail_pauses"
    __table_args__ = (Index("ix_payout_rail_pauses_provider_resumed_at", "provider", "resumed_at"),)

    id: Mapped[intpk]
    provider: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    payout_id: Mapped[int | None] = mapped_column(ForeignKey("payouts.id"))
    created_at: Mapped[created_at]
    resumed_at: Mapped[datetime | None]
    resumed_by: Mapped[int | None]  # the operator's id (the audit log has the details)


class StatementImport(Base):
    """One imported M-Pesa organisation statement and what matched."""

    __tablename__ = "payout_statement_imports"

    id: Mapped[intpk]
    filename: Mapped[str] = mapped_column(String(200))
    lines: Mapped[int]
    matched: Mapped[int]
    # Statement lines no payout explains, and settled payouts the statement lacks.
    unmatched_lines: Mapped[list[dict[str, object]]] = mapped_column(JSONType)
    unmatched_payouts: Mapped[list[dict[str, object]]] = mapped_column(JSONType)
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime | None]
    created_at: Mapped[created_at]
