"""The console SMS provider: records messages in memory instead of sending them.

It is the embedded default (``SMS_PROVIDER=console``) and what the demo and the
phone simulator read back; nothing leaves the machine.

With a ``reporter`` (``CONSOLE_SMS_REPORTS``, on in ``bin/run``) it also plays a
network, so the demo's dashboard shows real-looking traffic: each send is priced, and a
moment later a delivery report in Africa's Talking's form (``id``, ``status``,
``failureReason``, ``networkCode``) goes to the reporter, which posts it to our own
delivery-report webhook. Most messages are delivered; some fail with AT's reasons.
Outcomes follow from the message id, so a run is reproducible in tests.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from core.medium import count_segments
from core.money import COUNTRY_CURRENCY
from core.phone import InvalidNumber, normalize_msisdn
from gateway.delivery import DeliveryStatus
from gateway.errors import PermanentSendError
from gateway.providers.base import SendOutcome, SendResult, send_each

PROVIDER = "console"
#: Where the console provider's delivery reports go (AT's form, see gateway/views.py).
REPORT_PATH = "/webhooks/console/sms/delivery"
#: How long after a send its report comes, as a network's would (a few seconds at most).
REPORT_DELAY_SECONDS = 1.0

#: A made-up tariff per segment by the number's country, in its currency (core.money):
#: the demo's own, not a price list.
DEMO_PRICE_PER_SEGMENT: dict[str, Decimal] = {
    "KE": Decimal("0.80"),
    "UG": Decimal("30"),
    "TZ": Decimal("20"),
}
#: Networks the demo's numbers are on, by country; the first is the usual one. Codes are
#: the public MCC+MNC (ITU-T E.212): Safaricom 639-02, Airtel Kenya 639-03, MTN Uganda
#: 641-10, Airtel Uganda 641-01.
DEMO_NETWORKS: dict[str, tuple[str, ...]] = {
    "KE": ("63902", "63902", "63902", "63903"),
    "UG": ("64110", "64110", "64101"),
}
#: Out of every 100 reports: (status, failureReason) as AT words them, the rest "Success".
#: Reasons from AT's SMS delivery-report documentation. "UserInBlackList" is left out on
#: purpose: it opts the worker out, and would silence a demo user's own phone.
DEMO_FAILURES: tuple[tuple[int, str, str], ...] = (
    (4, "Failed", "DeliveryFailure"),
    (3, "Failed", "AbsentSubscriber"),
    (2, "Failed", "UserIsInactive"),
    (1, "Rejected", "UserAccountSuspended"),
)

Reporter = Callable[[dict[str, str]], None]


@dataclass(frozen=True, slots=True)
class ConsoleMessage:
    """One message the console provider would have sent."""

    provider_message_id: str
    to: str
    body: str
    callback_url: str | None
    sent_at: datetime


def demo_report(message_id: str, phone: str, country: str | None) -> dict[str, str]:
    """The delivery report the demo network sends for a message (AT's form fields)."""
    draw = int(hashlib.sha256(message_id.encode()).hexdigest()[:8], 16)
    status, reason = "Success", ""
    bucket = draw % 100
    for share, failed_status, failure in DEMO_FAILURES:
        if bucket < share:
            status, reason = failed_status, failure
            break
        bucket -= share
    form = {"id": message_id, "status": status, "phoneNumber": phone, "retryCount": "0"}
    networks = DEMO_NETWORKS.get(country or "")
    if networks:
        form["networkCode"] = networks[(draw >> 8) % len(networks)]
    if reason:
        form["failureReason"] = reason
    return form


class ConsoleProvider:
    """An SMS provider that keeps what it is asked to send in ``self.outbox``."""

    name = PROVIDER

    def __init__(
        self,
        reporter: Reporter | None = None,
        *,
        report_delay: float = REPORT_DELAY_SECONDS,
    ) -> None:
        self.outbox: list[ConsoleMessage] = []
        # Web threads and the in-process queue may send at the same time.
        self._lock = threading.Lock()
        self._reporter = reporter
        self._report_delay = report_delay
        self._due: dict[str, dict[str, str]] = {}  # reports not yet posted, by message id

    def send(self, to: str, body: str, *, callback_url: str | None = None) -> SendResult:
        """Record the message and report it accepted, as a real provider would."""
        try:
            number = normalize_msisdn(to)
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
                ConsoleMessage(message_id, number.e164, body, callback_url, datetime.now(UTC))
            )
        cost = cost_currency = cost_text = None
        if self._reporter is not None:
            price = DEMO_PRICE_PER_SEGMENT.get(number.region)
            if price is not None:
                cost_currency, cost = COUNTRY_CURRENCY[number.region], price * info.segments
                cost_text = f"{cost_currency} {cost:.4f}"
            self._schedule(demo_report(message_id, number.e164, number.region))
        return SendResult(
            provider=PROVIDER,
            to=number.e164,
            provider_message_id=message_id,
            status=DeliveryStatus.ACCEPTED,
            segments=info.segments,
            encoding=info.encoding,
            cost=cost_text,
            cost_amount=cost,
            cost_currency=cost_currency,
        )

    def send_bulk(self, recipients: Sequence[str], body: str) -> list[SendOutcome]:
        """Record one message per recipient."""
        return send_each(self, recipients, body)

    def messages_to(self, phone: str) -> list[ConsoleMessage]:
        """The recorded messages for one E.164 number, oldest first."""
        with self._lock:
            return [m for m in self.outbox if m.to == phone]

    # -- the demo network's delivery reports ---------------------------------------------

    def _schedule(self, form: dict[str, str]) -> None:
        with self._lock:
            self._due[form["id"]] = form
        timer = threading.Timer(self._report_delay, self._post, args=(form["id"],))
        timer.daemon = True
        timer.start()

    def _post(self, message_id: str) -> None:
        with self._lock:
            form = self._due.pop(message_id, None)
        if form is not None and self._reporter is not None:
            self._reporter(form)

    def flush_reports(self) -> int:
        """Post every report still waiting for its moment now; how many."""
        with self._lock:
            due = list(self._due)
        for message_id in due:
            self._post(message_id)
        return len(due)
