"""Migration 0008 upgrades a database with money in it, and stops on data it cannot trust."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from core.db import build_engine, build_sessionmaker
from core.migrate import upgrade
from tasks.funding import balances
from tests.conftest import fresh_database_url
from tests.tasks.test_migration_0003 import ROWS as PROJECT_ROWS

#: A project funded the old way (straight from the outside world), one wage paid, and a
#: settled payout with its receipt: what a database at 0007 holds.
MONEY_ROWS = [
    "INSERT INTO workers (id, msisdn, country, language, status, created_at, updated_at)"
    " VALUES (1, '+254711000001', 'KE', 'en', 'active', :now, :now)",
    "INSERT INTO ledger_accounts (id, kind, currency, created_at)"
    " VALUES (2, 'funding', 'KES', :now)",
    "INSERT INTO ledger_accounts (id, kind, currency, worker_id, created_at)"
    " VALUES (3, 'worker_wallet', 'KES', 1, :now)",
    "INSERT INTO ledger_transactions (id, kind, reference, created_at)"
    " VALUES (1, 'funding', 'funding:project:1', :now), (2, 'wage', 'wage:assignment:1', :now)",
    "INSERT INTO ledger_entries (transaction_id, account_id, amount_minor, currency, created_at)"
    " VALUES (1, 2, -1000, 'KES', :now), (1, 1, 1000, 'KES', :now),"
    " (2, 1, -100, 'KES', :now), (2, 3, 100, 'KES', :now)",
    "UPDATE projects SET paid_minor = 100",
]


def _payout(payout_id: int, receipt: str) -> str:
    return (
        "INSERT INTO payouts (id, worker_id, phone, amount_minor, currency, status, provider,"
        " receipt, submit_attempts, created_at, updated_at) VALUES"
        f" ({payout_id}, 1, '+254711000001', 100, 'KES', 'settled', 'sandbox', '{receipt}', 1,"
        " :now, :now)"
    )


def _at_0007(db_kind: str, tmp_path: Path, rows: list[str]) -> str:
    url = fresh_database_url(db_kind, tmp_path, "upgrade0008")
    upgrade(url, "0002")
    engine = build_engine(url)
    try:
        with engine.begin() as connection:
            for statement in PROJECT_ROWS:
                connection.execute(text(statement), {"yes": True, "now": "2026-01-01 00:00:00"})
        upgrade(url, "0007")
        with engine.begin() as connection:
            for statement in rows:
                connection.execute(text(statement), {"now": "2026-01-01 00:00:00"})
    finally:
        engine.dispose()
    return url


def test_existing_budgets_and_receipts_stay_valid_and_count_as_funded(
    db_kind: str, tmp_path: Path
) -> None:
    url = _at_0007(db_kind, tmp_path, [*MONEY_ROWS, _payout(1, "UAF0000XY1")])
    upgrade(url)
    engine = build_engine(url)
    try:
        with build_sessionmaker(engine)() as session:
            (kes,) = balances(session, 1)
        assert (kes.funded, kes.committed, kes.spent, kes.available) == (1000, 900, 100, 0)
        if db_kind == "postgresql":
            with (
                pytest.raises(IntegrityError, match="append-only"),
                engine.begin() as connection,
            ):
                connection.execute(text("UPDATE ledger_entries SET amount_minor = 5"))
    finally:
        engine.dispose()


def test_two_payouts_with_one_receipt_stop_the_upgrade_naming_it(
    db_kind: str, tmp_path: Path
) -> None:
    rows = [*MONEY_ROWS, _payout(1, "UAF0000XY1"), _payout(2, "UAF0000XY1")]
    url = _at_0007(db_kind, tmp_path, rows)
    with pytest.raises(RuntimeError, match="payouts sharing a receipt.*UAF0000XY1"):
        upgrade(url)
