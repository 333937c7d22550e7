"""The payout-provider interface in Kazi's terms: typed values in and out, and one Protocol.

A provider (a mobile-money rail: Daraja B2C for M-Pesa, the local sandbox, later MTN
MoMo or Airtel Money) does four things:

- ``submit`` a payout under our idempotency key (the payout's own key, stored before
  the call, so a retry or a status query names the same payment);
- ``parse_callback``: turn what the provider posts back into a ``ProviderEvent``
  (a payment's result, a status answer, a balance answer, or a query that timed out);
- ``query_status`` of a payment whose outcome is unknown;
- ``query_balance`` of the account the payouts are paid from (the float).

Providers are asynchronous or not: a query answers with a ``QueryAck`` when its
answer will arrive by callback (Daraja), or with the answer itself (a synchronous
rail). Each adapter keeps its provider's vocabulary (Daraja's OriginatorConversationID,
QueueTimeOutURL, result codes) to itself. Amounts are integer minor units with a
currency, never floats.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from payouts.errors import InvalidPayoutRequest

_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class ResultStatus(StrEnum):
    """What a provider's answer means for the money."""

    SUCCESS = "success"  # paid: the worker has the money
    FAILED = "failed"  # definitely not paid: funds may return to the balance
    UNKNOWN = "unknown"  # may or may not be paid: resolve with a status query


class CallbackKind(StrEnum):
    """What a provider callback answers (the webhook tells them apart by path and query)."""

    RESULT = "result"  # a payment's result
    TIMEOUT = "timeout"  # a payment timed out in the provider's queue: unknown
    STATUS = "status"  # the answer to a status query
    STATUS_TIMEOUT = "status_timeout"
    BALANCE = "balance"  # the answer to a balance query
    BALANCE_TIMEOUT = "balance_timeout"


@dataclass(frozen=True)
class PayoutRequest:
    """One payment to one worker; ``idempotency_key`` names it at the provider."""

    idempotency_key: str  # persisted with the payout before the call
    phone_e164: str
    amount_minor: int
    currency: str
    remarks: str = "Kazi microwork payout"
    occasion: str | None = None

    def __post_init__(self) -> None:
        key = self.idempotency_key
        if not key or len(key) > 100 or not key.isascii():
            raise InvalidPayoutRequest("bad idempotency key", field="idempotency_key", value=key)
        if not _E164.match(self.phone_e164):
            raise InvalidPayoutRequest(
                "phone must be E.164, e.g. +254712345678", field="phone_e164", value=self.phone_e164
            )
        # bool is an int subclass: refuse it so True never becomes one cent.
        if type(self.amount_minor) is not int or self.amount_minor <= 0:
            raise InvalidPayoutRequest(
                "amount must be a positive integer of minor units",
                field="amount_minor",
                value=self.amount_minor,
            )
        if not _CURRENCY.match(self.currency):
            raise InvalidPayoutRequest("bad currency code", field="currency", value=self.currency)


@dataclass(frozen=True)
class SubmitAck:
    """The provider accepted a payment for processing (not yet paid)."""

    idempotency_key: str
    provider_reference: str  # the provider's own id for this payment
    code: str
    description: str


@dataclass(frozen=True)
class QueryAck:
    """The provider accepted a status or balance query; the answer comes by callback."""

    query_id: str  # names the answer when it arrives
    provider_reference: str
    code: str
    description: str


@dataclass(frozen=True)
class PaymentResult:
    """The final (or timed-out) result of one payment."""

    idempotency_key: str  # our payout's key
    provider_reference: str
    code: str
    description: str
    status: ResultStatus
    receipt: str | None = None  # the provider's transaction id on success
    amount_minor: int | None = None
    currency: str | None = None
    recipient_phone: str | None = None  # as the provider echoes it
    recipient_name: str | None = None
    completed_at: datetime | None = None
    float_minor: int | None = None  # what the paying account holds after this payment
    recipient_registered: bool | None = None
    timed_out: bool = False  # the provider's queue timed out: the outcome is unknown
    # Failed because our own set-up is wrong (credentials, roles): every payment would
    # fail alike, so the rail is paused instead of failing each payout.
    configuration_error: bool = False
    # The balance of the account the provider takes its charges from, after this payment.
    charges_account_minor: int | None = None
    discount_minor: int | None = None  # what the rail gives back on a payment (AT airtime)

    @property
    def success(self) -> bool:
        """True only when the worker has been paid."""
        return self.status is ResultStatus.SUCCESS


@dataclass(frozen=True)
class StatusAnswer:
    """The answer to a status query, naming the payout it is about when it can."""

    query_id: str  # the query's own id, not the payout's
    provider_reference: str
    code: str
    description: str
    status: ResultStatus  # what the answer proves about the payout's money
    idempotency_key: str | None = None  # the payout's key, when the answer names it
    payment_reference: str | None = None
    receipt: str | None = None
    provider_status: str | None = None  # the provider's own word for the payment's state
    amount_minor: int | None = None
    currency: str | None = None
    recipient_name: str | None = None
    initiated_at: datetime | None = None
    finalised_at: datetime | None = None
    # The provider has no payment under the key asked about (nothing was ever received).
    not_found: bool = False
    fee_minor: int | None = None  # the provider's charge for the payment, when reported


@dataclass(frozen=True)
class AccountBalance:
    """One account line of a balance answer (the column meanings are unverified)."""

    name: str
    currency: str
    amounts_minor: tuple[int, ...]  # as sent; commonly current, available, reserved, uncleared

    @property
    def available_minor(self) -> int:
        """The second column, commonly read as the available balance."""
        return self.amounts_minor[1] if len(self.amounts_minor) > 1 else self.amounts_minor[0]


@dataclass(frozen=True)
class BalanceAnswer:
    """The answer to a balance query."""

    query_id: str
    provider_reference: str
    code: str
    description: str
    success: bool
    accounts: tuple[AccountBalance, ...] = ()
    completed_at: datetime | None = None

    def account(self, name: str) -> AccountBalance | None:
        """The account whose name starts with ``name`` (e.g. "Utility"), if any."""
        return next((a for a in self.accounts if a.name.lower().startswith(name.lower())), None)


@dataclass(frozen=True)
class QueryTimedOut:
    """A status or balance query timed out at the provider: nothing changed."""

    kind: CallbackKind


ProviderEvent = PaymentResult | StatusAnswer | BalanceAnswer | QueryTimedOut


def json_object(response: Any) -> dict[str, Any] | None:
    """An HTTP answer's JSON object (a ``requests.Response``'s), or None if it is not one."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


class PayoutProvider(Protocol):
    """What the payouts domain needs from a mobile-money rail."""

    name: str

    def submit(self, request: PayoutRequest) -> SubmitAck:
        """Ask the provider to pay; raises ProviderRejected (not paid) or OutcomeUnknown."""
        ...

    def parse_callback(self, kind: CallbackKind, body: Mapping[str, Any]) -> ProviderEvent:
        """Decode a callback of this kind (raises BadCallback naming the field)."""
        ...

    def query_status(
        self, *, idempotency_key: str | None = None, receipt: str | None = None
    ) -> QueryAck | StatusAnswer:
        """Ask what became of an earlier payment, by our key or the provider's receipt."""
        ...

    def query_balance(self) -> QueryAck | BalanceAnswer:
        """Ask for the paying account's balance."""
        ...
