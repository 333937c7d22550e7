"""The console SMS provider: records messages in memory instead of sending them.

It is the embedded default (``SMS_PROVIDER=console``) and what the demo and the
phone simulator read back; nothing leaves the machine.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from core.medium import count_segments
from core.phone import InvalidNumber, normalize_msisdn
from gateway.delivery import DeliveryStatus
from gateway.errors import PermanentSendError
from gateway.providers.base import SendOutcome, SendResult, send_each

PROVIDER = "console"


@dataclass(frozen=True, slots=True)
class ConsoleMessage:
    """One message the console provider would have sent."""

    provider_message_id: str
    to: str
    body: str
    callback_url: str | None
    sent_at: datetime


class ConsoleProvider:
    """An SMS provider that keeps what it is asked to send in ``self.outbox``."""

    name = PROVIDER

    def __init__(self) -> None:
        self.outbox: list[ConsoleMessage] = []
        # Web threads and the in-process queue may send at the same time.
        self._lock = threading.Lock()

    def send(self, to: str, body: str, *, callback_url: str | None = None) -> SendResult:
        """Record the message and report it accepted, as a real provider would."""
        try:
            number = normalize_msisdn(to).e164
        except InvalidNumber as exc:
            # Same contract as the real providers, so the demo shows the same failures.
            raise PermanentSendError(
                "console: invalid_number", provider=PROVIDER, reason="invalid_number"
            ) from exc
        info = count_segments(body)
        with self._lock:
            # Unique across restarts: (provider, provider_message_id) is unique in the database.
            message_id = f"console-{uuid.uuid4().hex}"
            self.outbox.append(
                ConsoleMessage(message_id, number, body, callback_url, datetime.now(UTC))
            )
        return SendResult(
            provider=PROVIDER,
            to=number,
            provider_message_id=message_id,
            status=DeliveryStatus.ACCEPTED,
            segments=info.segments,
            encoding=info.encoding,
        )

    def send_bulk(self, recipients: Sequence[str], body: str) -> list[SendOutcome]:
        """Record one message per recipient."""
        return send_each(self, recipients, body)

    def messages_to(self, phone: str) -> list[ConsoleMessage]:
        """The recorded messages for one E.164 number, oldest first."""
        with self._lock:
            return [m for m in self.outbox if m.to == phone]
