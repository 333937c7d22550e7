"""A payout's postings: hold, settle or release, the rail's fee and discount, receivables.

A withdrawal moves money wallet → hold (``payout:{id}:hold``), then hold → disbursed
(``:settle``) or hold → wallet (``:release``), never both. Only the hold debits a
wallet, and it does so with the wallet row locked (``lock_wallet``), so however many
withdrawals race, none reads a balance another is about to spend. A payout paid after
its money went back is owed by the worker (the receivable) until an operator clears it.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.money import Money
from ledger.errors import InsufficientFunds, LedgerError
from ledger.models import AccountKind, LedgerAccount
from ledger.services import (
    Posting,
    balance,
    get_account,
    lock_wallet,
    transaction_by_reference,
    transfer,
    worker_wallet,
)


def payout_hold(session: Session, worker_id: int, currency: str) -> LedgerAccount:
    """The account holding a worker's money on its way to mobile money."""
    return get_account(session, AccountKind.PAYOUT_HOLD, currency, worker_id=worker_id)


def hold_payout(session: Session, *, payout_id: int, worker_id: int, amount: Money) -> Posting:
    """Move a withdrawal from the wallet to the hold, refusing to overdraw the wallet."""
    wallet = lock_wallet(session, worker_id, amount.currency)
    available = balance(session, wallet)
    if amount.amount > available.amount:
        raise InsufficientFunds(
            f"balance {available.format()} is less than {amount.format()}",
            details=[{"balance": available.amount, "requested": amount.amount}],
        )
    return transfer(
        session,
        kind="payout_hold",
        reference=f"payout:{payout_id}:hold",
        source=wallet,
        destination=payout_hold(session, worker_id, amount.currency),
        amount=amount,
    )


def settle_payout(session: Session, *, payout_id: int, worker_id: int, amount: Money) -> Posting:
    """The provider paid: the held money leaves Kazi (recorded once per payout)."""
    _refuse_if_recorded(session, f"payout:{payout_id}:release", "settle a released payout")
    disbursed = get_account(session, AccountKind.DISBURSED, amount.currency)
    return transfer(
        session,
        kind="payout_settle",
        reference=f"payout:{payout_id}:settle",
        source=payout_hold(session, worker_id, amount.currency),
        destination=disbursed,
        amount=amount,
    )


def release_payout(session: Session, *, payout_id: int, worker_id: int, amount: Money) -> Posting:
    """The payout failed: the held money returns to the wallet (recorded once per payout)."""
    _refuse_if_recorded(session, f"payout:{payout_id}:settle", "release a settled payout")
    return transfer(
        session,
        kind="payout_release",
        reference=f"payout:{payout_id}:release",
        source=payout_hold(session, worker_id, amount.currency),
        destination=worker_wallet(session, worker_id, amount.currency),
        amount=amount,
    )


def book_provider_discount(session: Session, *, payout_id: int, amount: Money) -> Posting:
    """A rail's discount on a settled payout (AT airtime's commission): Kazi's income from
    the outside world into the fee account, once per payout; disbursed stays the face value."""
    return transfer(
        session,
        kind="payout_discount",
        reference=f"payout:{payout_id}:discount",
        source=get_account(session, AccountKind.FUNDING, amount.currency),
        destination=get_account(session, AccountKind.FEES, amount.currency),
        amount=amount,
    )


def _refuse_if_recorded(session: Session, reference: str, what: str) -> None:
    # The payout state machine already forbids this; the ledger refuses it as well,
    # because paying a worker and also returning the money would create money.
    if transaction_by_reference(session, reference) is not None:
        raise LedgerError(f"cannot {what} ({reference} exists)")


def receivable(session: Session, worker_id: int, currency: str) -> LedgerAccount:
    """What a worker owes Kazi (it runs below zero by the amount owed)."""
    return get_account(session, AccountKind.RECEIVABLE, currency, worker_id=worker_id)


def owed_by_worker(session: Session, worker_id: int, currency: str) -> Money:
    """How much the worker owes Kazi (zero or more)."""
    return Money(-balance(session, receivable(session, worker_id, currency)).amount, currency)


def receivable_for_payout(
    session: Session, *, payout_id: int, worker_id: int, amount: Money
) -> Posting:
    """A payout whose money was returned was paid after all: the worker owes it (once).

    The money left through the rail (disbursed) and came from the worker's receivable,
    not from the wallet: taking it from the wallet is an operator's decision.
    """
    return transfer(
        session,
        kind="payout_receivable",
        reference=f"payout:{payout_id}:receivable",
        source=receivable(session, worker_id, amount.currency),
        destination=get_account(session, AccountKind.DISBURSED, amount.currency),
        amount=amount,
    )


def settle_receivable(
    session: Session, *, payout_id: int, worker_id: int, amount: Money, from_wallet: bool
) -> Posting:
    """Clear a payout's receivable from the worker's wallet, or write it off (once)."""
    source = (
        lock_wallet(session, worker_id, amount.currency)
        if from_wallet
        else get_account(session, AccountKind.FUNDING, amount.currency)
    )
    if from_wallet and balance(session, source).amount < amount.amount:
        raise InsufficientFunds(
            f"the wallet holds less than {amount.format()}",
            details=[{"balance": balance(session, source).amount, "owed": amount.amount}],
        )
    return transfer(
        session,
        kind="receivable_recovered" if from_wallet else "receivable_written_off",
        reference=f"payout:{payout_id}:receivable_cleared",
        source=source,
        destination=receivable(session, worker_id, amount.currency),
        amount=amount,
    )


def post_payout_fee(session: Session, *, payout_id: int, amount: Money) -> Posting:
    """The rail's charge for one payout, paid from Kazi's float, into the fee account (once)."""
    return transfer(
        session,
        kind="payout_fee",
        reference=f"payout:{payout_id}:fee",
        source=get_account(session, AccountKind.FUNDING, amount.currency),
        destination=get_account(session, AccountKind.FEES, amount.currency),
        amount=amount,
    )
