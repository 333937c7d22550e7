"""The double-entry ledger's tables: accounts, transactions and their entries.

Entries and transactions are append-only. PostgreSQL enforces it with triggers
(migration 0008, which also checks at commit that every transaction balances per
currency); on every database the ORM guard at the bottom of this module refuses an
update or delete before it is sent. An entry names its account together with the
account's currency (a composite foreign key), so it cannot be in another currency.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from core.db import Base, BigIntId, created_at, currency_code, intpk, money_minor, str_enum
from ledger.errors import AppendOnly


class AccountKind(StrEnum):
    """What an account holds; owners are a worker, a project, a requester or Kazi itself.

    Money enters as a recorded deposit and flows: FUNDING (the outside world) →
    REQUESTER_FUNDING → PROJECT_BUDGET → WORKER_WALLET → PAYOUT_HOLD (payout clearing)
    → DISBURSED (the provider float it left through). Each arrow is one balanced
    transaction; unspent budget flows back to the requester's funding when a project
    closes.
    """

    WORKER_WALLET = "worker_wallet"  # wages a worker has earned and not withdrawn
    PROJECT_BUDGET = "project_budget"  # one project's committed, not yet paid budget
    PAYOUT_HOLD = "payout_hold"  # payout clearing: on its way through a rail, not settled
    # The outside world: the counter-account deposits come from (before migration 0008,
    # project budgets were funded from it directly; those transactions stand as they are).
    FUNDING = "funding"
    DISBURSED = "disbursed"  # provider float: money that left through a rail to a worker
    # -- Issue 11, "money you can trust": requester funding, fees, receivables ----------
    # Recorded deposits (and credit drawn, below zero) not yet committed to a project:
    # one account per requester per currency.
    REQUESTER_FUNDING = "requester_funding"
    FEES = "fees"  # fees charged on money moving through Kazi (Kazi-owned, per currency)
    RECEIVABLE = "receivable"  # money owed to Kazi that it still has to collect
    # -- end of issue 11's kinds ----------------------------------------------------------
    # What Kazi itself spends on workers, not a requester: the fee for an impact survey
    # (per currency, Kazi-owned; it runs below zero by what Kazi has paid).
    PLATFORM_EXPENSE = "platform_expense"


def _one_account_per(name: str, *owner: str, where: str) -> Index:
    # A unique constraint over nullable owner columns lets NULLs repeat (PostgreSQL and
    # SQLite alike), so each kind of owner gets its own partial unique index instead.
    return Index(
        name,
        "kind",
        *owner,
        "currency",
        unique=True,
        postgresql_where=text(where),
        sqlite_where=text(where),
    )


class LedgerAccount(Base):
    """An account in one currency; its balance is the sum of its entries."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint("length(currency) = 3", name="currency_iso"),
        # The target of the entries' (account_id, currency) foreign key.
        UniqueConstraint("id", "currency"),
        _one_account_per("uq_ledger_accounts_worker", "worker_id", where="worker_id IS NOT NULL"),
        _one_account_per(
            "uq_ledger_accounts_project", "project_id", where="project_id IS NOT NULL"
        ),
        _one_account_per(
            "uq_ledger_accounts_requester", "requester_id", where="requester_id IS NOT NULL"
        ),
        _one_account_per(
            "uq_ledger_accounts_kazi",
            where="worker_id IS NULL AND project_id IS NULL AND requester_id IS NULL",
        ),
    )

    id: Mapped[intpk]
    kind: Mapped[AccountKind] = mapped_column(str_enum(AccountKind))
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("workers.id"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("requesters.id"))
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
        # The account and its currency together: an entry in another currency than its
        # account's has nothing to point at.
        ForeignKeyConstraint(
            ["account_id", "currency"], ["ledger_accounts.id", "ledger_accounts.currency"]
        ),
        Index("ix_ledger_entries_account_id_id", "account_id", "id"),
    )

    id: Mapped[intpk]
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account_id: Mapped[int] = mapped_column(BigIntId)
    amount_minor: Mapped[money_minor]
    currency: Mapped[currency_code]
    created_at: Mapped[created_at]


_APPEND_ONLY = (LedgerEntry, LedgerTransaction)


@event.listens_for(Session, "before_flush")
def _refuse_changed_rows(session: Session, _context: Any, _instances: Any) -> None:
    # A mistake in the ledger is corrected by a new transaction, never by editing one.
    for row in session.deleted:
        if isinstance(row, _APPEND_ONLY):
            raise AppendOnly(f"{type(row).__tablename__} rows are never deleted")
    for row in session.dirty:
        if isinstance(row, _APPEND_ONLY) and session.is_modified(row):
            raise AppendOnly(f"{type(row).__tablename__} rows are never updated")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and any(
        mapper.class_ in _APPEND_ONLY for mapper in state.all_mappers
    ):
        raise AppendOnly("ledger entries and transactions are never updated or deleted")
