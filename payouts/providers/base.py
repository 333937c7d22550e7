"""The payout-provider interface: typed values in and out, and one Protocol.

Providers (Daraja B2C, the local sandbox, later MTN MoMo or Airtel Money) turn a
``PayoutRequest`` into a provider call and provider callbacks into outcomes. All
of them are asynchronous: ``submit`` only says the provider *accepted* the job; the
money moves (or not) when a result callback arrives, parsed into ``PayoutOutcome``.
Amounts are integer minor units with a currency, never floats.
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
    """What a provider result means for the money."""

    SUCCESS = "success"  # paid: the worker has the money
    FAILED = "failed"  # definitely not paid: funds may return to the balance
    UNKNOWN = "unknown"  # may or may not be paid: resolve with a status query


@dataclass(frozen=True)
class ResultCode:
    """One row of the provider's result-code table."""

    status: ResultStatus
    meaning: str


# M-Pesa B2C result codes (providers.md 5.7), keyed by the code as a string because
# Daraja sends numbers and alphanumerics (SFC_IC0003) in the same field.
MPESA_RESULT_CODES: Mapping[str, ResultCode] = {
    "0": ResultCode(ResultStatus.SUCCESS, "processed successfully"),
    "1": ResultCode(ResultStatus.FAILED, "insufficient balance in the B2C utility account"),
    "2": ResultCode(ResultStatus.FAILED, "below the minimum amount"),
    "3": ResultCode(ResultStatus.FAILED, "above the maximum amount"),
    "4": ResultCode(ResultStatus.FAILED, "would exceed the customer's daily limit"),
    "8": ResultCode(ResultStatus.FAILED, "would exceed the customer's maximum balance"),
    "11": ResultCode(ResultStatus.FAILED, "debit party (B2C account) in an invalid state"),
    "21": ResultCode(ResultStatus.FAILED, "initiator not allowed (missing B2C initiator role)"),
    "2001": ResultCode(ResultStatus.FAILED, "initiator information invalid"),
    "2006": ResultCode(ResultStatus.FAILED, "account status does not allow the transaction"),
    "2028": ResultCode(ResultStatus.FAILED, "shortcode not permitted for B2C"),
    "2040": ResultCode(ResultStatus.FAILED, "unregistered recipients not supported"),
    "8006": ResultCode(ResultStatus.FAILED, "security credential locked"),
    "SFC_IC0003": ResultCode(ResultStatus.FAILED, "operator or MSISDN does not exist"),
    # Only corroborated, not in Safaricom's B2C page. A "duplicate detected" may mean
    # an earlier request paid, and an "internal failure" says nothing about the money,
    # so both are resolved by a status query rather than returned to the balance.
    "15": ResultCode(ResultStatus.UNKNOWN, "duplicate detected"),
    "17": ResultCode(ResultStatus.UNKNOWN, "internal failure"),
    "20": ResultCode(ResultStatus.FAILED, "unresolved initiator"),
    "26": ResultCode(ResultStatus.FAILED, "traffic blocking"),
}


def classify_result_code(code: object) -> ResultStatus:
    """Map an M-Pesa result code to success, failed or unknown (undocumented codes)."""
    info = MPESA_RESULT_CODES.get(str(code).strip())
    return info.status if info is not None else ResultStatus.UNKNOWN


@dataclass(frozen=True)
class PayoutRequest:
    """One payment to one worker; ``payout_id`` is our idempotency key at the provider."""

    payout_id: str  # persisted before the call; Daraja's OriginatorConversationID
    phone_e164: str
    amount_minor: int
    currency: str
    remarks: str = "Kazi microwork payout"
    occasion: str | None = None

    def __post_init__(self) -> None:
        if not self.payout_id or len(self.payout_id) > 100 or not self.payout_id.isascii():
            raise InvalidPayoutRequest("bad payout id", field="payout_id", value=self.payout_id)
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
class ProviderAck:
    """The provider accepted an asynchronous job; its result arrives by callback."""

    conversation_id: str
    originator_conversation_id: str
    response_code: str
    response_description: str


@dataclass(frozen=True)
class SubmitAck(ProviderAck):
    """A payment was accepted for processing (not yet paid)."""


@dataclass(frozen=True)
class StatusQueryAck(ProviderAck):
    """A status query was accepted; the answer comes as a ``StatusOutcome`` callback."""

    queried_originator_conversation_id: str | None = None
    queried_transaction_id: str | None = None


@dataclass(frozen=True)
class BalanceQueryAck(ProviderAck):
    """A balance query was accepted; the answer comes as a ``BalanceOutcome`` callback."""


@dataclass(frozen=True)
class PayoutOutcome:
    """The final (or timed-out) result of one payment, from a result callback."""

    originator_conversation_id: str  # our payout id
    conversation_id: str
    result_code: str
    result_description: str
    status: ResultStatus
    transaction_id: str | None = None  # the M-Pesa receipt on success
    amount_minor: int | None = None
    currency: str | None = None
    recipient_phone: str | None = None  # as the provider echoes it (254…)
    recipient_name: str | None = None
    completed_at: datetime | None = None
    utility_balance_minor: int | None = None
    working_balance_minor: int | None = None
    recipient_registered: bool | None = None
    is_queue_timeout: bool = False

    @property
    def success(self) -> bool:
        """True only when the worker has been paid."""
        return self.status is ResultStatus.SUCCESS


@dataclass(frozen=True)
class StatusOutcome:
    """The answer to a Transaction Status query, naming the payout it is about."""

    originator_conversation_id: str  # the query's own id, not the payout's
    conversation_id: str
    result_code: str
    result_description: str
    payout_status: ResultStatus  # what the query says about the payout's money
    payout_originator_conversation_id: str | None = None
    payout_conversation_id: str | None = None
    receipt: str | None = None
    transaction_status: str | None = None
    amount_minor: int | None = None
    currency: str | None = None
    credit_party_name: str | None = None
    initiated_at: datetime | None = None
    finalised_at: datetime | None = None


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
class BalanceOutcome:
    """The answer to an Account Balance query."""

    originator_conversation_id: str
    conversation_id: str
    result_code: str
    result_description: str
    success: bool
    accounts: tuple[AccountBalance, ...] = ()
    completed_at: datetime | None = None

    def account(self, name: str) -> AccountBalance | None:
        """The account whose name starts with ``name`` (e.g. "Utility"), if any."""
        return next((a for a in self.accounts if a.name.lower().startswith(name.lower())), None)


class PayoutProvider(Protocol):
    """What the payout service needs from a mobile-money rail."""

    name: str

    def submit(self, request: PayoutRequest) -> SubmitAck:
        """Ask the provider to pay; raises ProviderRejected or OutcomeUnknown."""
        ...

    def query_status(
        self, *, originator_conversation_id: str | None = None, transaction_id: str | None = None
    ) -> StatusQueryAck:
        """Ask for the state of an earlier payment; the answer comes by callback."""
        ...

    def account_balance(self) -> BalanceQueryAck:
        """Ask for the paying account's balance; the answer comes by callback."""
        ...

    def parse_result(self, body: Mapping[str, Any]) -> PayoutOutcome:
        """Decode a payment result callback (raises BadCallback)."""
        ...

    def parse_timeout(self, body: Mapping[str, Any]) -> PayoutOutcome:
        """Decode a queue-timeout callback into an UNKNOWN outcome (raises BadCallback)."""
        ...

    def parse_status_result(self, body: Mapping[str, Any]) -> StatusOutcome:
        """Decode a status-query result callback (raises BadCallback)."""
        ...

    def parse_balance_result(self, body: Mapping[str, Any]) -> BalanceOutcome:
        """Decode a balance-query result callback (raises BadCallback)."""
        ...
