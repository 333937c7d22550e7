"""A worker's work record: the facts they can show an employer, with a code to verify them.

``RECORD`` by SMS (or the USSD menu) issues a record: tasks done, months active, the
accuracy band of the accuracy the earnings screen shows, and total wages per
currency, frozen as sent. The verification code is random (``secrets``), ten
characters of Crockford's base32 (https://www.crockford.com/base32.html: no I, L, O
or U, so it reads aloud and types on a keypad without confusion): 50 bits, far beyond
guessing at the rate ``/verify`` allows. Only its keyed digest is stored, and the
record holds no phone number and no name, so a leaked table reveals nobody's contact.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.money import Money
from core.secrets import keyed_digest
from ledger.models import AccountKind, LedgerAccount, LedgerEntry, LedgerTransaction
from ledger.services import WAGE
from tasks import reputation
from tasks.models import Assignment, AssignmentStatus, WorkRecord
from workers.models import Worker

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10
# Crockford's decoding: letters a person may type for the digits they resemble.
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
#: Accuracy bands, highest first: (lower bound, label). A band, not a number, is shown
#: so a record stays true while the estimate moves a point or two.
ACCURACY_BANDS: tuple[tuple[float, str], ...] = (
    (0.9, "90%+"),
    (0.75, "75-89%"),
    (0.5, "50-74%"),
    (0.0, "<50%"),
)


@dataclass(frozen=True)
class RecordFacts:
    """What a work record says, and all that ``/verify`` shows."""

    tasks_done: int
    months_active: int
    accuracy_band: str | None  # None before any gold answer
    earned: list[Money]
    issued_at: datetime


@dataclass(frozen=True)
class IssuedRecord:
    """A record just issued: its facts and the code, known only to this call and the SMS."""

    code: str
    facts: RecordFacts


def new_code() -> str:
    """A fresh verification code of ``CODE_LENGTH`` Crockford base32 characters."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str | None:
    """A typed code in canonical form (case, dashes, O/I/L forgiven), or None if malformed."""
    code = text.strip().upper().replace("-", "").replace(" ", "").translate(_READ_AS)
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return None
    return code


def accuracy_band(accuracy: float | None) -> str | None:
    """The band an accuracy falls in (``"90%+"``, ``"75-89%"``, ...); None when unknown."""
    if accuracy is None:
        return None
    return next(label for floor, label in ACCURACY_BANDS if accuracy >= floor)


def issue_record(
    session: Session, worker: Worker, now: datetime, *, secret_key: str | None
) -> IssuedRecord:
    """Freeze the worker's record as of now and store it under a new code's digest."""
    facts = current_facts(session, worker.id, now)
    code = new_code()
    session.add(
        WorkRecord(
            code_digest=keyed_digest(code, secret_key),
            worker_id=worker.id,
            tasks_done=facts.tasks_done,
            months_active=facts.months_active,
            accuracy_band=facts.accuracy_band,
            earned={m.currency: m.amount for m in facts.earned},
            issued_at=now,
        )
    )
    session.flush()
    return IssuedRecord(code, facts)


def find_record(session: Session, text: str, *, secret_key: str | None) -> RecordFacts | None:
    """The facts of the record with this code, or None for a malformed or unknown code."""
    code = normalise_code(text)
    if code is None:
        return None
    digest = keyed_digest(code, secret_key)
    row = session.scalars(select(WorkRecord).where(WorkRecord.code_digest == digest)).first()
    if row is None:
        return None
    earned = [Money(int(amount), currency) for currency, amount in sorted(row.earned.items())]
    return RecordFacts(row.tasks_done, row.months_active, row.accuracy_band, earned, row.issued_at)


def current_facts(session: Session, worker_id: int, now: datetime) -> RecordFacts:
    """The worker's record today: answers given, months with work, accuracy band, wages."""
    answered = select(Assignment.answered_at).where(
        Assignment.worker_id == worker_id,
        Assignment.status == AssignmentStatus.ANSWERED,
        Assignment.answered_at.is_not(None),
    )
    months: set[tuple[int, int]] = set()
    tasks_done = 0
    for at in session.scalars(answered):
        if at is not None:  # never, by the query; the column is nullable
            tasks_done += 1
            months.add((at.year, at.month))
    # The same accuracy the earnings screen shows (tasks.reports.worker_earnings).
    band = accuracy_band(reputation.headline(session, worker_id))
    return RecordFacts(tasks_done, len(months), band, _wages(session, worker_id), now)


def _wages(session: Session, worker_id: int) -> list[Money]:
    """Wages ever credited to the worker's wallets, one per currency with any."""
    rows = session.execute(
        select(LedgerAccount.currency, func.sum(LedgerEntry.amount_minor))
        .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(
            LedgerAccount.kind == AccountKind.WORKER_WALLET,
            LedgerAccount.worker_id == worker_id,
            LedgerTransaction.kind == WAGE,
        )
        .group_by(LedgerAccount.currency)
        .order_by(LedgerAccount.currency)
    )
    return [Money(int(total), currency) for currency, total in rows if total]
