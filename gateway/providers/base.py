"""The SMS provider interface, its result types and the factory choosing one by name.

Each provider is one small class in its own module; adding a provider touches that
module, one branch of ``gateway.providers.registry`` and its tests. Providers raise only ``SendError``
subclasses from ``send``: ``TemporarySendError`` (retry with backoff) or
``PermanentSendError`` (give up, maybe mark the worker opted out).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import requests

from gateway.delivery import DeliveryStatus
from gateway.errors import SendError, TemporarySendError


@dataclass(frozen=True, slots=True)
class SendResult:
    """What a provider said when it took a message."""

    provider: str
    to: str
    provider_message_id: str  # join key for later delivery reports
    status: DeliveryStatus
    segments: int
    encoding: str
    cost: str | None = None  # the provider's own text, e.g. "KES 0.8000"
    cost_amount: Decimal | None = None
    cost_currency: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """One recipient of a bulk send: a result, or the error that recipient got."""

    to: str
    result: SendResult | None = None
    error: SendError | None = None


class SmsProvider(Protocol):
    """What the gateway needs from an SMS backend."""

    name: str

    def send(self, to: str, body: str, *, callback_url: str | None = None) -> SendResult:
        """Send one SMS; raise TemporarySendError or PermanentSendError on failure."""
        ...

    def send_bulk(self, recipients: Sequence[str], body: str) -> list[SendOutcome]:
        """Send one text to many numbers; one outcome per recipient, in input order."""
        ...


_COST = re.compile(r"^\s*(?:([A-Za-z]{3})\s+)?(-?\d+(?:\.\d+)?)\s*$")


def send_each(provider: SmsProvider, recipients: Sequence[str], body: str) -> list[SendOutcome]:
    """Send one text to each recipient in turn, one outcome per recipient, in order."""
    outcomes = []
    for to in recipients:
        try:
            outcomes.append(SendOutcome(to, result=provider.send(to, body)))
        except SendError as exc:
            outcomes.append(SendOutcome(to, error=exc))
    return outcomes


def parse_cost(text: str | None) -> tuple[str | None, Decimal | None]:
    """Split a provider cost like ``"KES 0.8000"`` or ``"0.10"`` into (currency, amount)."""
    # Provider costs have 4 decimals (fractions of a cent), so they stay Decimal here;
    # converting to integer minor units is the ledger's decision, not the gateway's.
    if text is None:
        return None, None
    match = _COST.match(text)
    if not match:
        return None, None
    try:
        amount = Decimal(match.group(2))
    except InvalidOperation:  # pragma: no cover - the regex only admits decimals
        return None, None
    currency = match.group(1).upper() if match.group(1) else None
    return currency, amount


def network_send_error(provider: str, exc: requests.RequestException) -> TemporarySendError:
    """Turn a transport failure into a TemporarySendError, noting if it may have been sent."""
    # Before a connection exists nothing can have been sent; after it (read timeout,
    # connection reset mid-answer) the provider may already have accepted it.
    maybe_sent = not isinstance(exc, requests.ConnectTimeout) and not _failed_to_connect(exc)
    return TemporarySendError(
        f"{provider}: network error: {type(exc).__name__}",
        provider=provider,
        reason="network",
        maybe_sent=maybe_sent,
    )


def _failed_to_connect(exc: requests.RequestException) -> bool:
    """True when requests never reached the server (DNS failure, connection refused)."""
    if not isinstance(exc, requests.ConnectionError) or isinstance(exc, requests.ReadTimeout):
        return False
    text = repr(exc.args[0]) if exc.args else ""
    return any(
        marker in text
        for marker in ("NewConnectionError", "NameResolutionError", "Connection refused")
    )
