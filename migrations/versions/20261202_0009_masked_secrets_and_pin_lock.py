"""PINs masked at rest, and the escalating PIN lock

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 02:10:00.000000

- ``ussd_sessions.seen_digest``: the keyed digest (HMAC-SHA256) of the session's text,
  which tells the next hop's new input apart; ``seen_text`` is kept masked from now on.
- ``workers.pin_lock_level`` and ``workers.pin_locked_until``: how many PIN locks in a
  row a worker has had, and until when the current one holds (none: until an operator
  unlocks it).

Existing rows are masked as well as can be done without knowing which screen read
them: an inbound SMS ``PAY <amount> <PIN>`` (or any PAY with words after it) and an
inbound SMS of four digits alone; in a USSD session's text and in the ``input`` of an
end-of-session event, every input of four digits; the same in stored webhook events.
Masking cannot be undone, so ``downgrade`` only drops the new columns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Where each provider's form holds an inbound SMS's text (Africa's Talking, Twilio).
_SMS_TEXT_FIELDS = ("text", "Body")
_FOUR_DIGITS = re.compile(r"\A\s*\d{4}\s*\Z")
# Frozen copies of the rules as they stood at this revision (a migration must not
# change meaning when the code changes): flows.inputs.MASK and the PAY keyword's words
# from flows.sms.KEYWORDS.
_MASK = "****"
_USSD_MASK = "####"  # flows.inputs.USSD_MASK
_PAY_WORDS = {"PAY", "WITHDRAW", "TOA", "RETRAIT"}


def upgrade() -> None:
    """Add the columns, then mask what old rows hold."""
    with op.batch_alter_table("ussd_sessions") as batch:
        batch.add_column(sa.Column("seen_digest", sa.String(64), nullable=True))
    with op.batch_alter_table("workers") as batch:
        batch.add_column(
            sa.Column("pin_lock_level", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("pin_locked_until", sa.DateTime(timezone=True), nullable=True))
    connection = op.get_bind()
    _mask_messages(connection)
    _mask_ussd_sessions(connection)
    _mask_events(connection)


def downgrade() -> None:
    """Drop the new columns (masked text stays masked)."""
    with op.batch_alter_table("workers") as batch:
        batch.drop_column("pin_locked_until")
        batch.drop_column("pin_lock_level")
    with op.batch_alter_table("ussd_sessions") as batch:
        batch.drop_column("seen_digest")


def _old_sms(text: str) -> str:
    """A PAY message keeps its keyword and a number after it; four digits alone are masked."""
    words = text.split()
    if words and words[0].strip(".!").upper() in _PAY_WORDS and len(words) > 1:
        kept = 2 if words[1].isdigit() and len(words) == 3 else 1
        return " ".join(words[:kept] + [_MASK] * (len(words) - kept))
    return _MASK if _FOUR_DIGITS.match(text) else text


def _old_inputs(text: str) -> str:
    return "*".join(_USSD_MASK if _FOUR_DIGITS.match(part) else part for part in text.split("*"))


def _mask_column(
    connection: sa.Connection,
    name: str,
    column: str,
    mask: Callable[[str], str],
    *where: sa.ColumnElement[bool],
) -> None:
    table = sa.table(name, sa.column("id"), sa.column(column))
    rows = connection.execute(sa.select(table.c.id, table.c[column]).where(*where))
    for row_id, value in list(rows):
        masked = mask(value or "")
        if masked != value:
            connection.execute(
                table.update().where(table.c.id == row_id).values({column: masked})
            )


def _mask_messages(connection: sa.Connection) -> None:
    _mask_column(connection, "messages", "body", _old_sms, sa.column("direction") == "in")


def _mask_ussd_sessions(connection: sa.Connection) -> None:
    _mask_column(connection, "ussd_sessions", "seen_text", _old_inputs)


def _mask_payload(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    masked = dict(payload)
    if kind == "sms":
        for name in _SMS_TEXT_FIELDS:
            if isinstance(masked.get(name), str):
                masked[name] = _old_sms(masked[name])
    elif kind == "ussd_end" and isinstance(masked.get("input"), str):
        masked["input"] = _old_inputs(masked["input"])
    return masked


def _mask_events(connection: sa.Connection) -> None:
    events = sa.table(
        "webhook_events",
        sa.column("id", sa.BigInteger()),
        sa.column("kind"),
        sa.column("payload", sa.JSON()),
    )
    rows = connection.execute(
        sa.select(events.c.id, events.c.kind, events.c.payload).where(
            events.c.kind.in_(["sms", "ussd_end"])
        )
    )
    for row_id, kind, payload in list(rows):
        if not isinstance(payload, dict):
            continue
        masked = _mask_payload(kind, payload)
        if masked != payload:
            connection.execute(
                events.update().where(events.c.id == row_id).values(payload=masked)
            )
