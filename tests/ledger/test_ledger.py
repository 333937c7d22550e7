"""The ledger: balanced, append-only, holds that settle or return exactly once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.money import Money
from ledger import payout_postings
from ledger import services as ledger
from ledger.errors import InsufficientFunds, LedgerError, UnbalancedTransaction
from ledger.models import AccountKind, LedgerAccount, LedgerEntry, LedgerTransaction
from tests.payouts.factories import earn, make_worker, wallet_balance

KES = "KES"


def test_an_unbalanced_transaction_is_refused(session: Session) -> None:
    worker = make_worker(session)
    wallet = ledger.worker_wallet(session, worker.id, KES)
    funding = ledger.get_account(session, AccountKind.FUNDING, KES)
    count = select(func.count()).select_from(LedgerTransaction)
    before = session.scalar(count)
    with pytest.raises(UnbalancedTransaction):
        ledger.post(
            session,
            kind="x",
            reference="x:1",
            legs=[ledger.Leg(wallet, 100), ledger.Leg(funding, -99)],
        )
    with pytest.raises(UnbalancedTransaction):
        ledger.post(session, kind="x", reference="x:2", legs=[ledger.Leg(wallet, 100)])
    assert session.scalar(count) == before


def test_every_recorded_transaction_adds_up_to_zero(session: Session) -> None:
    worker = make_worker(session)
    earn(session, worker.id, 5_000)
    money = Money(2_000, KES)
    payout_postings.hold_payout(session, payout_id=1, worker_id=worker.id, amount=money)
    payout_postings.settle_payout(session, payout_id=1, worker_id=worker.id, amount=money)
    payout_postings.hold_payout(session, payout_id=2, worker_id=worker.id, amount=money)
    payout_postings.release_payout(session, payout_id=2, worker_id=worker.id, amount=money)
    mine = select(LedgerEntry.transaction_id).join(
        LedgerAccount, LedgerAccount.id == LedgerEntry.account_id
    )
    mine = mine.where(LedgerAccount.worker_id == worker.id)
    sums = session.execute(
        select(LedgerEntry.transaction_id, func.sum(LedgerEntry.amount_minor))
        .where(LedgerEntry.transaction_id.in_(mine))
        .group_by(LedgerEntry.transaction_id)
    ).all()
    assert len(sums) == 5  # the worker's: wage, hold, settle, hold, release
    assert {total for _, total in sums} == {0}
    assert wallet_balance(session, worker.id) == 3_000


def test_a_hold_never_overdraws_the_wallet(session: Session) -> None:
    worker = make_worker(session)
    earn(session, worker.id, 1_500)
    with pytest.raises(InsufficientFunds):
        payout_postings.hold_payout(
            session, payout_id=7, worker_id=worker.id, amount=Money(1_600, KES)
        )
    payout_postings.hold_payout(session, payout_id=7, worker_id=worker.id, amount=Money(1_500, KES))
    assert wallet_balance(session, worker.id) == 0


def test_release_and_settle_each_happen_once_and_exclude_each_other(session: Session) -> None:
    worker = make_worker(session)
    earn(session, worker.id, 1_000)
    money = Money(1_000, KES)
    payout_postings.hold_payout(session, payout_id=3, worker_id=worker.id, amount=money)
    assert payout_postings.release_payout(
        session, payout_id=3, worker_id=worker.id, amount=money
    ).created
    assert not payout_postings.release_payout(
        session, payout_id=3, worker_id=worker.id, amount=money
    ).created
    assert wallet_balance(session, worker.id) == 1_000
    with pytest.raises(LedgerError, match="settle a released payout"):
        payout_postings.settle_payout(session, payout_id=3, worker_id=worker.id, amount=money)
    hold = payout_postings.payout_hold(session, worker.id, KES)
    assert ledger.balance(session, hold).amount == 0
