"""M-Pesa organisation statements: match each line to a payout by receipt and amount.

The org portal exports a statement as CSV with columns such as "Receipt No.",
"Completion Time", "Details", "Paid In", "Withdrawn" and "Other Party Info" (the
portal's statement export; column names are matched loosely, ignoring case, spaces
and punctuation, and a preamble before the header row is skipped). A B2C payment is a
"Withdrawn" line; its charge is a separate line under the same receipt, counted apart.
Lines no payout explains and settled payouts missing from the statement's period are
both reported, and the import is kept so the console shows the last one.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from payouts.errors import PayoutError
from payouts.models import Payout, PayoutStatus, StatementImport
from payouts.providers.daraja_parsing import EAT

#: Loose names of the columns we read.
RECEIPT, COMPLETED, WITHDRAWN, PAID_IN, OTHER, DETAILS = (
    "receiptno", "completiontime", "withdrawn", "paidin", "otherpartyinfo", "details",
)  # fmt: skip
REQUIRED = (RECEIPT, COMPLETED, WITHDRAWN, OTHER)
#: Completion times as statements write them (East Africa Time).
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%d-%m-%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%d.%m.%Y %H:%M:%S")


class StatementError(PayoutError):
    """The statement file cannot be read (no header row, not CSV)."""

    http_status = 400
    code = "bad_statement"


@dataclass(frozen=True)
class StatementLine:
    """One payment line of the statement."""

    row: int
    receipt: str
    completed_at: datetime | None
    amount_minor: int
    other_party: str


@dataclass
class ImportResult:
    """What one import matched, and what it could not."""

    lines: int = 0
    matched: list[tuple[str, int]] = field(default_factory=list)  # (receipt, payout id)
    charges: int = 0  # charge lines (the fees), not payments
    unmatched_lines: list[dict[str, object]] = field(default_factory=list)
    unmatched_payouts: list[dict[str, object]] = field(default_factory=list)


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9/]", "", name.lower()).replace("/", "")


def read_statement(text: str) -> tuple[list[StatementLine], list[dict[str, object]], int]:
    """Parse the statement: its payment lines, the unreadable rows, and the charge lines."""
    rows = list(csv.reader(io.StringIO(text)))
    header_at = next((i for i, row in enumerate(rows) if RECEIPT in {_key(c) for c in row}), None)
    if header_at is None:
        raise StatementError("no header row with a 'Receipt No.' column")
    header = [_key(c) for c in rows[header_at]]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise StatementError(f"the statement lacks the column(s): {', '.join(missing)}")
    lines, bad, charges = [], [], 0
    for number, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        if not any(cell.strip() for cell in row):
            continue
        cells = dict(zip(header, (c.strip() for c in row), strict=False))
        if "charge" in cells.get(DETAILS, "").lower():
            charges += 1
            continue
        try:
            lines.append(_line(number, cells))
        except ValueError as error:
            bad.append({"row": number, "receipt": cells.get(RECEIPT, ""), "why": str(error)})
    return lines, bad, charges


def _line(row: int, cells: dict[str, str]) -> StatementLine:
    receipt = cells.get(RECEIPT, "").upper()
    if not receipt:
        raise ValueError("no receipt")
    raw = cells.get(WITHDRAWN) or cells.get(PAID_IN) or ""
    try:
        amount = abs(Decimal(raw.replace(",", ""))) * 100
    except InvalidOperation:
        raise ValueError(f"bad amount {raw!r}") from None
    if amount != amount.to_integral_value() or amount == 0:
        raise ValueError(f"bad amount {raw!r}")
    return StatementLine(
        row, receipt, _time(cells.get(COMPLETED, "")), int(amount), cells.get(OTHER, "")
    )


def _time(text: str) -> datetime | None:
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=EAT)
        except ValueError:
            continue
    if text:
        raise ValueError(f"bad completion time {text!r}")
    return None


def import_statement(session: Session, filename: str, text: str) -> ImportResult:
    """Match the statement's lines to payouts and record the import."""
    lines, bad, charges = read_statement(text)
    result = ImportResult(lines=len(lines) + len(bad), charges=charges, unmatched_lines=bad)
    seen: set[int] = set()
    for line in lines:
        payout = session.scalars(select(Payout).where(Payout.receipt == line.receipt)).first()
        if payout is None:
            result.unmatched_lines.append(_described(line, "no payout has this receipt"))
        elif payout.amount_minor != line.amount_minor:
            why = f"payout {payout.id} booked {payout.amount_minor}"
            result.unmatched_lines.append(_described(line, why))
        else:
            result.matched.append((line.receipt, payout.id))
            seen.add(payout.id)
    times = [line.completed_at for line in lines if line.completed_at is not None]
    start, end = (min(times), max(times)) if times else (None, None)
    if start is not None and end is not None:
        result.unmatched_payouts = [
            {"payout": p.id, "receipt": p.receipt, "amount_minor": p.amount_minor}
            for p in _settled_between(session, start, end)
            if p.id not in seen
        ]
    session.add(
        StatementImport(
            filename=filename[:200],
            lines=result.lines,
            matched=len(result.matched),
            unmatched_lines=result.unmatched_lines,
            unmatched_payouts=result.unmatched_payouts,
            period_start=start,
            period_end=end,
        )
    )
    return result


def _settled_between(session: Session, start: datetime, end: datetime) -> list[Payout]:
    stmt = (
        select(Payout)
        .where(
            Payout.status == PayoutStatus.SETTLED,
            Payout.completed_at >= start,
            Payout.completed_at <= end,
        )
        .order_by(Payout.id)
    )
    return list(session.scalars(stmt))


def _described(line: StatementLine, why: str) -> dict[str, object]:
    return {
        "row": line.row,
        "receipt": line.receipt,
        "amount_minor": line.amount_minor,
        "other_party": line.other_party,
        "why": why,
    }


def last_import(session: Session) -> StatementImport | None:
    """The most recent statement import, for the console."""
    stmt = select(StatementImport).order_by(StatementImport.id.desc()).limit(1)
    return session.scalars(stmt).first()
