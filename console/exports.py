"""CSV of the message log: the rows a filter shows, as the console shows them.

Phone numbers go out as the operator sees them on screen (masked for viewers). A cell
of free text that a spreadsheet would run as a formula (it starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return) is prefixed with ``'``, the defence OWASP
gives for CSV injection (https://owasp.org/www-community/attacks/CSV_Injection); phone
numbers are ours (E.164 or masked), not typed by anyone, and stay as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from zoneinfo import ZoneInfo

from core.money import Money
from gateway import failure_reasons
from gateway.models import Message
from gateway.networks import network_label

#: At most this many rows in one file; the page says so, and a narrower filter gets the rest.
CSV_LIMIT = 100_000
COLUMNS = (
    "time",
    "phone",
    "direction",
    "channel",
    "provider",
    "status",
    "failure",
    "failure_code",
    "network",
    "segments",
    "cost",
    "body",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str | None) -> str:
    value = value or ""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def message_row(message: Message, shown_phone: str, zone: ZoneInfo) -> list[str]:
    """One message as a CSV row, with times in ``zone`` (ISO 8601 with the offset)."""
    cost = ""
    if message.cost_minor is not None and message.cost_currency is not None:
        cost = Money(message.cost_minor, message.cost_currency).format()
    return [
        message.created_at.astimezone(zone).isoformat(timespec="seconds"),
        shown_phone,
        message.direction.value,
        message.channel,
        message.provider,
        message.status,
        _text(failure_reasons.describe(message.error) if message.error else ""),
        _text(message.error),
        network_label(message.network_code) if message.network_code else "",
        str(message.segments),
        cost,
        _text(message.body),
    ]


def messages_csv(
    messages: Iterable[Message], show_phone: Callable[[str | None], str], zone: ZoneInfo
) -> Iterator[str]:
    """The header line, then a line per message, as text chunks to stream."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for message in messages:
        writer.writerow(message_row(message, show_phone(message.phone), zone))
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
