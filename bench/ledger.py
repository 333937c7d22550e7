"""The ledger: wages credited and withdrawals requested, through the payouts services."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import insert

from bench import seed
from bench.harness import BenchDatabase, Row, Table, measure, measure_threads, row_from
from config.settings import Settings
from core.db import utcnow
from core.kvstore import MemoryStore
from core.money import Money
from core.secrets import check_password, hash_password
from ledger import services as ledger
from ledger.models import LedgerEntry, LedgerTransaction
from ledger.wages import credit_wage
from payouts.withdrawals import WithdrawalLimits, request_withdrawal

PIN = "4321"
WAGE = Money(100, "KES")
WITHDRAWAL_MINOR = 1_000  # KES 10, Daraja's smallest payment
#: Each seeded past wage: big enough that even 10 of them fund every withdrawal timed.
SEED_WAGE_MINOR = 100_000


def run_credits(
    db: BenchDatabase, *, workers: int, credits: int, threads: int, max_seconds: float
) -> list[Row]:
    """``credit_wage`` one transaction at a time, then from ``threads`` threads at once."""
    with db.sessions.begin() as session:
        project_id = seed.project(session).id
        ids = seed.workers(session, workers)
    db.analyze()

    def credit(i: int) -> None:
        with db.sessions.begin() as session:
            posting = credit_wage(
                session,
                worker_id=ids[i % len(ids)],
                project_id=project_id,
                amount=WAGE,
                reference=f"bench:wage:{i}",
            )
            if not posting.created:
                raise RuntimeError("a new reference was not recorded")

    samples = measure(credit, n=credits, max_seconds=max_seconds, warmup=1)
    rows = [row_from(db.kind, f"{workers:,} workers: credit_wage", samples, unit="credits/s")]
    if threads > 1:
        flat, wall = measure_threads(
            credit,
            start=1 + len(samples),
            threads=threads,
            per_thread=credits // threads,
            max_seconds=max_seconds,
        )
        label = f"{workers:,} workers: credit_wage, {threads} threads"
        rows.append(row_from(db.kind, label, flat, unit="credits/s", wall_seconds=wall))
    return rows


def seed_wallets(db: BenchDatabase, worker_ids: list[int], entries: int) -> None:
    """Give each worker ``entries`` past wages (as ledger rows) out of one project's budget."""
    with db.sessions.begin() as session:
        project_id = seed.project(session).id
        budget = ledger.project_budget(session, project_id, "KES").id
        wallets = [ledger.worker_wallet(session, w, "KES").id for w in worker_ids]
        now = utcnow()
        for wallet in wallets:
            refs = [
                {"kind": "wage", "reference": f"seed:{wallet}:{i}", "created_at": now}
                for i in range(entries)
            ]
            txns = session.scalars(
                insert(LedgerTransaction).returning(LedgerTransaction.id), refs
            ).all()
            legs = [
                {
                    "transaction_id": t,
                    "account_id": account,
                    "amount_minor": amount,
                    "currency": "KES",
                    "created_at": now,
                }
                for t in txns
                for account, amount in ((budget, -SEED_WAGE_MINOR), (wallet, SEED_WAGE_MINOR))
            ]
            for chunk in seed._chunks(legs):
                session.execute(insert(LedgerEntry), chunk)


def run_withdrawals(
    db: BenchDatabase,
    *,
    entry_counts: list[int],
    workers: int,
    withdrawals: int,
    max_seconds: float,
) -> list[Row]:
    """``request_withdrawal`` (PIN, limits, locked balance, hold) for wallets of growing history."""
    limits = WithdrawalLimits.from_settings(replace(Settings()))
    store = MemoryStore()
    pin_hash = hash_password(PIN)
    # Everything is seeded before statistics are refreshed: inserting into tables the
    # planner believes tiny makes PostgreSQL check foreign keys by scanning.
    wallets: list[list[int]] = []
    for number, entries in enumerate(entry_counts):
        with db.sessions.begin() as session:
            start = 5_000_000 + number * workers
            wallets.append(seed.workers(session, workers, start=start, pin_hash=pin_hash))
        seed_wallets(db, wallets[-1], entries)
    db.analyze()
    rows: list[Row] = []
    for entries, ids in zip(entry_counts, wallets, strict=True):

        def withdraw(i: int, ids: list[int] = ids) -> None:
            with db.sessions.begin() as session:
                request_withdrawal(
                    session,
                    worker_id=ids[i % len(ids)],
                    pin=PIN,
                    amount_minor=WITHDRAWAL_MINOR,
                    limits=limits,
                    store=store,
                    provider="sandbox",
                )

        samples = measure(withdraw, n=withdrawals, max_seconds=max_seconds, warmup=1)
        label = f"wallets of {entries:,} entries: request_withdrawal"
        rows.append(row_from(db.kind, label, samples, unit="withdrawals/s"))
    return rows


def pin_check(*, checks: int, max_seconds: float) -> Row:
    """The cost of checking a withdrawal PIN against its stored hash, alone."""
    pin_hash = hash_password(PIN)
    samples = measure(lambda i: check_password(pin_hash, PIN), n=checks, max_seconds=max_seconds)
    return row_from("-", "PIN check alone (werkzeug default hash)", samples, unit="checks/s")


def table() -> Table:
    """The empty table this benchmark fills."""
    return Table(
        "Ledger: wages and withdrawals",
        "ledger.wages.credit_wage and payouts.withdrawals.request_withdrawal, one committed "
        "transaction each (the submit job a withdrawal queues is counted, not run). Withdrawals "
        "are KES 10 from wallets seeded with that many past wage entries; they include the PIN "
        "check, whose cost is shown alone in the last row.",
    )
