"""The embedded default payout provider: Daraja-shaped, and never leaves the machine.

It stands in for every rail, so it pays any currency Kazi knows (KES with Daraja's
limits and Kenyan numbers; others, such as the demo's UGX, in whole units to any number).

``submit`` validates like Daraja, acknowledges like Daraja and then hands a
Daraja-shaped callback body to ``deliver`` (injected by the integrator, e.g. an rq
job that posts it to our own webhook after a delay). The webhook parses it with the
real Daraja parsers, so a demo payout takes the same path as a real one.

Magic phone numbers demonstrate the unhappy paths (everything else is paid):

========================  =================================================
``+254700000001``         result code 1, insufficient balance (failed)
``+254700000002``         result code SFC_IC0003, no such MSISDN (failed)
``+254700000003``         result code 2040, unregistered recipient (failed)
``+254700000004``         queue timeout only (unknown); a later status query
                          reports it Completed, showing the reconcile path
``+254700000005``         no callback at all (unknown); a later status query
                          reports it Completed
========================  =================================================
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.kvstore import KeyValueStore
from core.money import MINOR_UNITS
from payouts.errors import DuplicateSubmission, InvalidPayoutRequest
from payouts.providers.base import (
    CallbackKind,
    PayoutRequest,
    ProviderEvent,
    QueryAck,
    SubmitAck,
)
from payouts.providers.daraja import daraja_msisdn, whole_kes
from payouts.providers.daraja_parsing import EAT, parse_callback

#: deliver(kind, Daraja-shaped JSON body, delay in seconds): schedule, don't run inline.
Deliver = Callable[[CallbackKind, dict[str, Any], float], None]

#: Magic phone → (ResultCode, ResultDesc) of a failed payment.
FAILING_PHONES: Mapping[str, tuple[int | str, str]] = {
    "+254700000001": (1, "The balance is insufficient for the transaction."),
    "+254700000002": ("SFC_IC0003", "The operator does not exist."),
    "+254700000003": (2040, "Credit Party customer type (Unregistered) is not supported."),
}
TIMEOUT_PHONE = "+254700000004"
_STORE_PREFIX = "payouts:sandbox:"
_STORE_TTL = 7 * 24 * 3600.0  # a week of sandbox payments is plenty for a demo
SILENT_PHONE = "+254700000005"


@dataclass
class _Payment:
    request: PayoutRequest
    conversation_id: str
    receipt: str
    paid: bool


class SandboxProvider:
    """A local stand-in for Daraja that answers through Daraja-shaped callbacks."""

    name = "sandbox"

    def __init__(
        self,
        deliver: Deliver,
        *,
        delay_seconds: float = 2.0,
        shortcode: str = "600000",
        utility_balance_minor: int = 100_000_000,
        now: Callable[[], datetime] = lambda: datetime.now(EAT),
        store: KeyValueStore | None = None,
    ) -> None:
        self._deliver = deliver
        self._delay = delay_seconds
        self._shortcode = shortcode
        self._balance = utility_balance_minor
        self._now = now
        self._payments: dict[str, _Payment] = {}
        self._lock = threading.Lock()
        # With a shared store (Redis under rq), every process of a deployment knows every
        # sandbox payment, so a status query from another worker process finds it.
        self._store = store

    def submit(self, request: PayoutRequest) -> SubmitAck:
        """Accept a payment like Daraja and schedule its result callback."""
        if request.currency == "KES":
            whole_kes(request.amount_minor, request.currency)  # same limits as Daraja
            daraja_msisdn(request.phone_e164)
        elif request.amount_minor % MINOR_UNITS.get(request.currency, 0) != 0:
            raise InvalidPayoutRequest("not whole units", field="amount_minor")
        failure = FAILING_PHONES.get(request.phone_e164)
        with self._lock:
            # Timed-out and silent payments are paid too: the status query finds them.
            payment = _Payment(request, _conversation_id(), _receipt(), failure is None)
            key = request.idempotency_key
            if key in self._payments or not self._share(payment):
                # Same rule as Daraja: one key, one payment, however often it is sent.
                raise DuplicateSubmission("sandbox already has this idempotency key")
            self._payments[key] = payment
            if payment.paid:
                self._balance -= request.amount_minor
        self._schedule(payment, failure)
        return SubmitAck(
            request.idempotency_key,
            payment.conversation_id,
            "0",
            "Accept the service request successfully.",
        )

    def parse_callback(self, kind: CallbackKind, body: Mapping[str, Any]) -> ProviderEvent:
        """Decode a sandbox callback with the real Daraja parsers."""
        return parse_callback(kind, body)

    def query_status(
        self, *, idempotency_key: str | None = None, receipt: str | None = None
    ) -> QueryAck:
        """Answer a status query with a Daraja-shaped Transaction Status result."""
        if not idempotency_key and not receipt:
            raise InvalidPayoutRequest("give an id to query", field="idempotency_key")
        payment = self._find(idempotency_key, receipt)
        ack = QueryAck(
            f"sandbox-status-{secrets.token_hex(6)}",
            _conversation_id(),
            "0",
            "Accept the service request successfully.",
        )
        body = self._status_body(ack, payment)
        self._deliver(CallbackKind.STATUS, body, self._delay)
        return ack

    def query_balance(self) -> QueryAck:
        """Answer a balance query with a Daraja-shaped Account Balance result."""
        ack = QueryAck(
            f"sandbox-balance-{secrets.token_hex(6)}", _conversation_id(), "0", "Accepted"
        )
        kes = _shillings(self._balance)
        line = f"Working Account|KES|0.00|0.00|0.00|0.00&Utility Account|KES|{kes}|{kes}|0.00|0.00"
        params = [
            {"Key": "AccountBalance", "Value": line},
            {"Key": "BOCompletedTime", "Value": self._stamp()},
        ]
        body = _result_body(ack.query_id, ack.provider_reference, 0, "OK", "", params)
        self._deliver(CallbackKind.BALANCE, body, self._delay)
        return ack

    def _schedule(self, payment: _Payment, failure: tuple[int | str, str] | None) -> None:
        request = payment.request
        if request.phone_e164 == SILENT_PHONE:
            return  # like Daraja on a bad day: nothing arrives, a status query must resolve it
        if request.phone_e164 == TIMEOUT_PHONE:
            body = _result_body(
                request.idempotency_key,
                payment.conversation_id,
                1,
                "The service request has timed out.",
                "",
                None,
            )
            body["Result"]["ResultType"] = 1  # as in the (unverified) timeout sample
            self._deliver(CallbackKind.TIMEOUT, body, self._delay)
            return
        if failure is not None:
            body = _result_body(
                request.idempotency_key,
                payment.conversation_id,
                failure[0],
                failure[1],
                payment.receipt,
                None,
            )
        else:
            body = self._success_body(payment)
        self._deliver(CallbackKind.RESULT, body, self._delay)

    def _success_body(self, payment: _Payment) -> dict[str, Any]:
        request = payment.request
        params: list[dict[str, Any]] = [
            {"Key": "TransactionAmount", "Value": _daraja_amount(request.amount_minor)},
            {"Key": "TransactionReceipt", "Value": payment.receipt},
            {
                "Key": "ReceiverPartyPublicName",
                "Value": f"{request.phone_e164[1:]} - SANDBOX WORKER",
            },
            {
                "Key": "TransactionCompletedDateTime",
                "Value": self._now().strftime("%d.%m.%Y %H:%M:%S"),
            },
            {"Key": "B2CUtilityAccountAvailableFunds", "Value": self._balance / 100},
            {"Key": "B2CWorkingAccountAvailableFunds", "Value": 0.0},
            {"Key": "B2CRecipientIsRegisteredCustomer", "Value": "Y"},
            {"Key": "B2CChargesPaidAccountAvailableFunds", "Value": 0.0},
        ]
        desc = "The service request is processed successfully."
        return _result_body(
            request.idempotency_key, payment.conversation_id, 0, desc, payment.receipt, params
        )

    def _status_body(self, ack: QueryAck, payment: _Payment | None) -> dict[str, Any]:
        if payment is None:
            desc = "The transaction could not be found."  # wording unverified, code "unknown"
            return _result_body(ack.query_id, ack.provider_reference, "SANDBOX_404", desc, "", None)
        # Timed-out and silent payments "complete" late, as real queued payments can.
        completed = payment.paid
        params = [
            {"Key": "OriginatorConversationID", "Value": payment.request.idempotency_key},
            {"Key": "ConversationID", "Value": payment.conversation_id},
            {"Key": "ReceiptNo", "Value": payment.receipt},
            {"Key": "TransactionStatus", "Value": "Completed" if completed else "Failed"},
            {"Key": "Amount", "Value": str(_daraja_amount(payment.request.amount_minor))},
            {
                "Key": "CreditPartyName",
                "Value": f"{payment.request.phone_e164[1:]} - SANDBOX WORKER",
            },
            {"Key": "InitiatedTime", "Value": self._stamp()},
            {"Key": "FinalisedTime", "Value": self._stamp()},
        ]
        desc = "The service request is processed successfully."
        return _result_body(ack.query_id, ack.provider_reference, 0, desc, "", params)

    def _find(self, originator_id: str | None, transaction_id: str | None) -> _Payment | None:
        with self._lock:
            if originator_id and originator_id in self._payments:
                return self._payments[originator_id]
            found = next((p for p in self._payments.values() if p.receipt == transaction_id), None)
        return found or self._shared(originator_id, transaction_id)

    def _share(self, payment: _Payment) -> bool:
        """Record the payment in the shared store; False if another process has this id."""
        if self._store is None:
            return True
        request = payment.request
        record = {
            "request": [
                request.idempotency_key,
                request.phone_e164,
                request.amount_minor,
                request.currency,
            ],
            "conversation_id": payment.conversation_id,
            "receipt": payment.receipt,
            "paid": payment.paid,
        }
        key = f"{_STORE_PREFIX}{request.idempotency_key}"
        if not self._store.set_if_absent(key, json.dumps(record).encode(), _STORE_TTL):
            return False
        self._store.set(
            f"{_STORE_PREFIX}receipt:{payment.receipt}",
            request.idempotency_key.encode(),
            _STORE_TTL,
        )
        return True

    def _shared(self, originator_id: str | None, transaction_id: str | None) -> _Payment | None:
        if self._store is None:
            return None
        if not originator_id and transaction_id:
            by_receipt = self._store.get(f"{_STORE_PREFIX}receipt:{transaction_id}")
            originator_id = by_receipt.decode() if by_receipt else None
        raw = self._store.get(f"{_STORE_PREFIX}{originator_id}") if originator_id else None
        if raw is None:
            return None
        record = json.loads(raw)
        return _Payment(
            PayoutRequest(*record["request"]),
            record["conversation_id"],
            record["receipt"],
            record["paid"],
        )

    def _stamp(self) -> str:
        return self._now().strftime("%Y%m%d%H%M%S")


def _result_body(
    originator_id: str,
    conversation_id: str,
    code: int | str,
    desc: str,
    transaction_id: str,
    params: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    """A callback body in the shape of Daraja's documented samples."""
    result: dict[str, Any] = {
        "ResultType": 0,
        "ResultCode": code,
        "ResultDesc": desc,
        "OriginatorConversationID": originator_id,
        "ConversationID": conversation_id,
        "TransactionID": transaction_id,
    }
    if params is not None:
        result["ResultParameters"] = {"ResultParameter": params}
    return {"Result": result}


def _shillings(minor: int) -> str:
    """Integer cents as Daraja's "1234.50" text, without float rounding."""
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 100)
    return f"{sign}{whole}.{cents:02d}"


def _conversation_id() -> str:
    return f"AG_SANDBOX_{secrets.token_hex(10)}"


def _receipt() -> str:
    # M-Pesa receipts are 10 upper-case alphanumerics; the prefix marks them as fake.
    return "SBX" + secrets.token_hex(4).upper()[:7]


def _daraja_amount(amount_minor: int) -> int | float:
    """An amount as the Daraja parsers read it (they read hundredths, as of KES), so the
    parsed amount is the booked one in any currency: UGX 2,000 is sent as 20."""
    return amount_minor // 100 if amount_minor % 100 == 0 else amount_minor / 100
