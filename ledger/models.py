"""The double-entry ledger's tables: accounts, transactions and their entries."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, created_at, currency_code, intpk, money_minor, str_enum


class AccountKind(StrEnum):
    """What an account holds; owners are a worker, a project or Kazi itself."""

    WORKER_WALLET = "worker_wallet"  # wages a worker has earned and not withdrawn
    PROJECT_BUDGET = "project_budget"  # a requester's funding for one project
    PAYOUT_HOLD = "payout_hold"  # money on its way to mobile money, not yet settled
    FUNDING = "funding"  # money requesters paid in (the outside world, for balance)
    DISBURSED = "disbursed"  # money that reached a worker's mobile-money account


class LedgerAccount(Base):
    """An account in one currency; its balance is the sum of its entries."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        UniqueConstraint("kind", "worker_id", "project_id", "currency"),
        CheckConstraint("length(currency) = 3", name="currency_iso"),
    )

    id: Mapped[intpk]
    kind: Mapped[AccountKind] = mapped_column(str_enum(AccountKind))
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("workers.id"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    currency: Mapped[currency_code]
    created_at: Mapped[created_at]


class LedgerTransaction(Base):
    """One movement of money: a set of entries that add up to zero per currency."""

    __tablename__ = "ledger_transactions"

    id: Mapped[intpk]
    kind: Mapped[str] = mapped_column(String(30))  # wage, payout_hold, payout_settle, ...
    # The business event's own key (e.g. "wage:assignment:42"): recording it twice is refused.
    reference: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[created_at]


class LedgerEntry(Base):
    """One leg of a transaction: a signed amount on one account. Never updated or deleted."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("amount_minor <> 0", name="amount_non_zero"),
        CheckConstraint("length(currency) = 3", name="currency_iso"),
        Index("ix_ledger_entries_account_id_id", "account_id", "id"),
    )

    id: Mapped[intpk]
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    amount_minor: Mapped[money_minor]
    currency: Mapped[currency_code]
    created_at: Mapped[created_at]
