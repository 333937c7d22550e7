"""The ledger's rules hold below the services: raw SQL that breaks one is refused.

PostgreSQL refuses it itself (migration 0008's triggers, foreign keys and indexes);
SQLite has no deferred triggers, so there the same rules are asserted on the code
path every write takes (the ledger service and the ORM guard in ``ledger.models``),
which PostgreSQL runs as well.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import build_engine, build_sessionmaker
from core.money import Money
from ledger import services as ledger
from ledger.errors import AppendOnly, LedgerError, UnbalancedTransaction
from ledger.models import AccountKind, LedgerAccount, LedgerEntry, LedgerTransaction
from payouts.models import Payout
from tests.payouts.factories import make_worker
from tests.tasks import factories

KES, UGX = "KES", "UGX"
NOW = "CURRENT_TIMESTAMP"


def refused(session: Session, sql: str, **params: object) -> bool:
    """True when the database refuses this statement; the session stays usable."""
    savepoint = session.begin_nested()
    try:
        session.execute(text(sql), params)
    except IntegrityError:
        savepoint.rollback()
        return True
    savepoint.rollback()
    return False


@pytest.fixture
def deposit_txn(session: Session) -> LedgerTransaction:
    """A balanced deposit of KES 100 (two entries) recorded through the service."""
    requester, _ = factories.requester(session)
    posting = ledger.record_deposit(
        session, requester_id=requester.id, amount=Money(10_000, KES), reference="deposit:t"
    )
    return posting.transaction


def _entries(session: Session, txn: LedgerTransaction) -> list[LedgerEntry]:
    stmt = select(LedgerEntry).where(LedgerEntry.transaction_id == txn.id).order_by(LedgerEntry.id)
    return list(session.scalars(stmt))


# -- a transaction balances per currency ------------------------------------------------


@pytest.fixture
def committed_engine(committed_url: str) -> Iterator[Engine]:
    engine = build_engine(committed_url)
    yield engine
    engine.dispose()


def _raw_transaction(engine: Engine, reference: str, legs: list[tuple[int, int, str]]) -> None:
    """Insert a transaction and its entries with plain SQL, and commit."""
    with engine.begin() as conn:
        txn_id = conn.execute(
            text(
                "INSERT INTO ledger_transactions (kind, reference, created_at) "
                f"VALUES ('raw', :reference, {NOW}) RETURNING id"
            ),
            {"reference": reference},
        ).scalar_one()
        for account_id, amount, currency in legs:
            conn.execute(
                text(
                    "INSERT INTO ledger_entries "
                    "(transaction_id, account_id, amount_minor, currency, created_at) "
                    f"VALUES (:txn, :account, :amount, :currency, {NOW})"
                ),
                {"txn": txn_id, "account": account_id, "amount": amount, "currency": currency},
            )


def test_an_unbalanced_transaction_is_refused(db_kind: str, committed_engine: Engine) -> None:
    sessions = build_sessionmaker(committed_engine)
    with sessions.begin() as session:
        accounts = {
            (kind, currency): ledger.get_account(session, kind, currency)
            for kind in (AccountKind.FUNDING, AccountKind.FEES)
            for currency in (KES, UGX)
        }
        ids = {key: account.id for key, account in accounts.items()}
    funding, fees = ids[(AccountKind.FUNDING, KES)], ids[(AccountKind.FEES, KES)]
    # The code path, on every database: nothing is written.
    with sessions.begin() as session:
        kes_fees = session.get_one(LedgerAccount, fees)
        ugx_funding = session.get_one(LedgerAccount, ids[(AccountKind.FUNDING, UGX)])
        for legs in (
            [ledger.Leg(kes_fees, 100)],
            [ledger.Leg(kes_fees, 100), ledger.Leg(ugx_funding, -100)],  # zero, not per currency
        ):
            with pytest.raises(UnbalancedTransaction):
                ledger.post(session, kind="raw", reference="code:1", legs=legs)
    if db_kind == "postgresql":
        # The database itself, at commit (the trigger is deferred: legs arrive one by one).
        for reference, raw_legs in (
            ("raw:one-leg", [(fees, 100, KES)]),
            ("raw:off-by-one", [(fees, 100, KES), (funding, -99, KES)]),
            (
                "raw:two-currencies",
                [(fees, 100, KES), (ids[(AccountKind.FUNDING, UGX)], -100, UGX)],
            ),
        ):
            with pytest.raises(IntegrityError, match="does not balance"):
                _raw_transaction(committed_engine, reference, raw_legs)
    _raw_transaction(committed_engine, "raw:balanced", [(fees, 100, KES), (funding, -100, KES)])
    with sessions() as session:
        references = session.scalars(select(LedgerTransaction.reference)).all()
        assert references == ["raw:balanced"]


# -- entries and transactions are append-only -----------------------------------------------


def test_the_code_path_refuses_to_update_or_delete_ledger_rows(
    session: Session, deposit_txn: LedgerTransaction
) -> None:
    entry = _entries(session, deposit_txn)[0]
    for change in (
        lambda: setattr(entry, "amount_minor", 1),
        lambda: setattr(deposit_txn, "reference", "deposit:edited"),
        lambda: session.delete(entry),
        lambda: session.delete(deposit_txn),
    ):
        with pytest.raises(AppendOnly), session.begin_nested():
            change()
            session.flush()
    for statement in (
        update(LedgerEntry).where(LedgerEntry.id == entry.id).values(amount_minor=1),
        delete(LedgerEntry).where(LedgerEntry.id == entry.id),
        update(LedgerTransaction).values(description="edited"),
        delete(LedgerTransaction),
    ):
        with pytest.raises(AppendOnly):
            session.execute(statement)
    session.expire_all()
    assert [e.amount_minor for e in _entries(session, deposit_txn)] == [-10_000, 10_000]


@pytest.mark.parametrize("db_kind", [pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_postgresql_refuses_raw_sql_updates_and_deletes_of_ledger_rows(
    session: Session, deposit_txn: LedgerTransaction
) -> None:
    entry = _entries(session, deposit_txn)[0]
    for sql in (
        "UPDATE ledger_entries SET amount_minor = 1 WHERE id = :entry",
        "UPDATE ledger_entries SET currency = 'UGX' WHERE id = :entry",
        "DELETE FROM ledger_entries WHERE id = :entry",
        "UPDATE ledger_transactions SET reference = 'edited' WHERE id = :txn",
        "DELETE FROM ledger_transactions WHERE id = :txn",
    ):
        assert refused(session, sql, entry=entry.id, txn=deposit_txn.id), sql
    with pytest.raises(IntegrityError, match="append-only"), session.begin_nested():
        session.execute(text("DELETE FROM ledger_entries"))


# -- an entry is in its account's currency ----------------------------------------------------


def test_an_entry_in_another_currency_than_its_account_is_refused(
    session: Session, deposit_txn: LedgerTransaction
) -> None:
    entry = _entries(session, deposit_txn)[0]
    insert = (
        "INSERT INTO ledger_entries (transaction_id, account_id, amount_minor, currency, "
        f"created_at) VALUES (:txn, :account, 5, :currency, {NOW})"
    )
    params = {"txn": deposit_txn.id, "account": entry.account_id}
    assert refused(session, insert, **params, currency=UGX)  # the account is in KES
    assert not refused(session, insert, **params, currency=KES)
    # The code path never writes one: a transfer stays in one currency.
    kes = session.get_one(LedgerAccount, entry.account_id)
    ugx = ledger.get_account(session, AccountKind.FEES, UGX)
    with pytest.raises(LedgerError, match="one currency"):
        ledger.transfer(
            session, kind="x", reference="x:1", source=kes, destination=ugx, amount=Money(5, KES)
        )


def test_one_account_per_owner_and_currency(session: Session) -> None:
    requester, _ = factories.requester(session)
    worker = make_worker(session)
    first = ledger.requester_funding(session, requester.id, KES)
    assert ledger.lock_requester_funding(session, requester.id, KES).id == first.id
    ledger.get_account(session, AccountKind.FUNDING, KES)
    ledger.worker_wallet(session, worker.id, KES)
    insert = (
        "INSERT INTO ledger_accounts (kind, worker_id, requester_id, currency, created_at) "
        f"VALUES (:kind, :worker, :requester, :currency, {NOW})"
    )
    assert refused(
        session, insert, kind="requester_funding", worker=None, requester=requester.id, currency=KES
    )
    assert refused(session, insert, kind="funding", worker=None, requester=None, currency=KES)
    assert refused(
        session, insert, kind="worker_wallet", worker=worker.id, requester=None, currency=KES
    )
    assert not refused(
        session, insert, kind="requester_funding", worker=None, requester=requester.id, currency=UGX
    )


# -- a payout receipt is on one payout --------------------------------------------------------


def test_a_receipt_is_on_one_payout_only(session: Session) -> None:
    worker = make_worker(session)
    payouts = [
        Payout(
            worker_id=worker.id,
            phone=worker.msisdn,
            amount_minor=1_000,
            currency=KES,
            provider="sandbox",
        )
        for _ in range(3)
    ]
    session.add_all(payouts)
    session.flush()  # three payouts without a receipt: NULLs never clash
    sql = "UPDATE payouts SET receipt = :receipt WHERE id = :payout"
    assert not refused(session, sql, receipt="UAF0000XY1", payout=payouts[0].id)
    session.execute(text(sql), {"receipt": "UAF0000XY1", "payout": payouts[0].id})
    assert refused(session, sql, receipt="UAF0000XY1", payout=payouts[1].id)
    assert not refused(session, sql, receipt="UAF0000XY2", payout=payouts[1].id)
    count = select(func.count()).where(Payout.receipt == "UAF0000XY1")
    assert session.scalar(count) == 1
