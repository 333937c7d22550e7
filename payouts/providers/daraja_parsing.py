"""Decode Daraja's asynchronous callbacks (B2C result, queue timeout, status, balance).

Pure functions over the JSON body, shared by the real Daraja client and the local
sandbox, so a demo payout goes through exactly the code path of a real one. They map
Daraja's vocabulary to Kazi's: ``OriginatorConversationID`` is our idempotency key,
``ConversationID`` the provider reference, ``TransactionID``/``TransactionReceipt`` the
M-Pesa receipt. Every malformed body raises ``BadCallback`` naming the field, so the
webhook can store the raw event and answer without guessing about money.

Result codes and field names: Safaricom's Daraja documentation for B2C, Transaction
Status and Account Balance (https://developer.safaricom.co.ke/APIs), with the
corroborated codes noted below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from payouts.errors import BadCallback
from payouts.providers.base import (
    AccountBalance,
    BalanceAnswer,
    CallbackKind,
    PaymentResult,
    ProviderEvent,
    QueryTimedOut,
    ResultStatus,
    StatusAnswer,
)

#: M-Pesa timestamps are Kenyan local time (East Africa Time, UTC+3, no DST).
EAT = timezone(timedelta(hours=3), "EAT")
#: M-Pesa in Kenya pays in shillings; the callbacks carry no currency field.
CURRENCY = "KES"


@dataclass(frozen=True)
class ResultCode:
    """One row of Daraja's result-code table."""

    status: ResultStatus
    meaning: str


# M-Pesa B2C result codes (Daraja's B2C documentation), keyed by the code as a string
# because Daraja sends numbers and alphanumerics (SFC_IC0003) in the same field.
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


#: Result codes that mean our own configuration is wrong, not the payment: the
#: initiator lacks its role (21), its credentials are invalid (2001) or locked after
#: repeated failures (8006), the shortcode may not do B2C (2028). Daraja's B2C page,
#: https://developer.safaricom.co.ke/APIs/BusinessToCustomer (result codes).
CONFIGURATION_CODES = frozenset({"21", "2001", "2028", "8006"})
#: What Transaction Status reports in TransactionStatus for a payment that did not happen.
FAILED_STATUS = "Failed"


def classify_result_code(code: object) -> ResultStatus:
    """Map an M-Pesa result code to success, failed or unknown (undocumented codes)."""
    info = MPESA_RESULT_CODES.get(str(code).strip())
    return info.status if info is not None else ResultStatus.UNKNOWN


def parse_callback(kind: CallbackKind, body: Mapping[str, Any]) -> ProviderEvent:
    """Decode a Daraja-shaped callback of this kind into a Kazi provider event."""
    if kind is CallbackKind.RESULT:
        return parse_b2c_result(body)
    if kind is CallbackKind.TIMEOUT:
        return parse_queue_timeout(body)
    if kind is CallbackKind.STATUS:
        return parse_status_result(body)
    if kind is CallbackKind.BALANCE:
        return parse_balance_result(body)
    # A status or balance query timed out in Daraja's queue: its body (unverified)
    # carries nothing we act on, so it is recorded as it came and not decoded.
    return QueryTimedOut(kind)


def parse_b2c_result(body: Mapping[str, Any]) -> PaymentResult:
    """Decode a B2C result callback into a ``PaymentResult``."""
    result = _result(body)
    code = _code(result)
    params = _params(result)
    status = classify_result_code(code)
    if str(result.get("ResultType", "0")).strip() != "0":
        # ResultType 1 is "waiting for further messages" and is what the queue-timeout
        # sample carries (with ResultCode 1, which reads like a failure): not final.
        status = ResultStatus.UNKNOWN
    receipt = _opt_str(params.get("transactionreceipt")) or _opt_str(result.get("TransactionID"))
    if status is ResultStatus.SUCCESS and not receipt:
        # A success without a receipt cannot be matched to the M-Pesa statement.
        raise BadCallback("successful result without a receipt", field="TransactionReceipt")
    phone, name = _split_party(params.get("receiverpartypublicname"))
    amount = params.get("transactionamount")
    return PaymentResult(
        idempotency_key=_req_str(result, "OriginatorConversationID"),
        provider_reference=_req_str(result, "ConversationID"),
        code=code,
        description=_opt_str(result.get("ResultDesc")) or "",
        status=status,
        receipt=receipt,
        amount_minor=_minor(amount, "TransactionAmount") if amount is not None else None,
        currency=CURRENCY if amount is not None else None,
        recipient_phone=phone,
        recipient_name=name,
        completed_at=_time(
            params.get("transactioncompleteddatetime"),
            "%d.%m.%Y %H:%M:%S",
            "TransactionCompletedDateTime",
        ),
        float_minor=_opt_minor(params, "B2CUtilityAccountAvailableFunds"),
        recipient_registered=_yes_no(params.get("b2crecipientisregisteredcustomer")),
        configuration_error=code in CONFIGURATION_CODES,
        charges_account_minor=_opt_minor(params, "B2CChargesPaidAccountAvailableFunds"),
    )


def parse_queue_timeout(body: Mapping[str, Any]) -> PaymentResult:
    """Decode a queue-timeout notice into an UNKNOWN outcome (never a failure)."""
    result = _result(body)
    # The timeout body is unverified and its sample carries ResultCode 1, which in a
    # result callback means "insufficient balance": the code is kept for the record
    # but never classified, because a timed-out request may still be paid later.
    return PaymentResult(
        idempotency_key=_req_str(result, "OriginatorConversationID"),
        provider_reference=_opt_str(result.get("ConversationID")) or "",
        code=_opt_str(result.get("ResultCode")) or "",
        description=_opt_str(result.get("ResultDesc")) or "",
        status=ResultStatus.UNKNOWN,
        receipt=_opt_str(result.get("TransactionID")),
        timed_out=True,
    )


def parse_status_result(body: Mapping[str, Any]) -> StatusAnswer:
    """Decode a Transaction Status result, naming the payout it is about."""
    result = _result(body)
    code = _code(result)
    params = _params(result)
    tx_status = _opt_str(params.get("transactionstatus"))
    # Only a successful query reporting "Completed" proves payment; the other
    # TransactionStatus values are not documented, so they stay for an operator.
    answered = classify_result_code(code) is ResultStatus.SUCCESS
    status = ResultStatus.UNKNOWN
    if answered and tx_status == "Completed":
        status = ResultStatus.SUCCESS
    elif answered and tx_status == FAILED_STATUS:
        status = ResultStatus.FAILED
    key = _opt_str(params.get("originatorconversationid"))
    amount = params.get("amount")
    _phone, credit_name = _split_party(params.get("creditpartyname"))
    return StatusAnswer(
        query_id=_req_str(result, "OriginatorConversationID"),
        provider_reference=_req_str(result, "ConversationID"),
        code=code,
        description=_opt_str(result.get("ResultDesc")) or "",
        status=status,
        idempotency_key=key,
        payment_reference=_opt_str(params.get("conversationid")),
        receipt=_opt_str(params.get("receiptno")),
        provider_status=tx_status,
        amount_minor=_minor(amount, "Amount") if amount is not None else None,
        currency=CURRENCY if amount is not None else None,
        recipient_name=credit_name,
        initiated_at=_time(params.get("initiatedtime"), "%Y%m%d%H%M%S", "InitiatedTime"),
        finalised_at=_time(params.get("finalisedtime"), "%Y%m%d%H%M%S", "FinalisedTime"),
        # A query that failed and names no payment: Daraja has nothing under the id.
        not_found=not answered and key is None and not params.get("receiptno"),
        fee_minor=_charge(params.get("debitpartycharges")),
    )


def _charge(value: Any) -> int | None:
    """DebitPartyCharges, e.g. "Fee For B2C Payment|KES|22.40", as minor units."""
    text = _opt_str(value)
    if text is None:
        return None
    parts = text.split("|")
    if len(parts) < 3:
        raise BadCallback(f"bad DebitPartyCharges {text!r}", field="DebitPartyCharges")
    return _minor(parts[2], "DebitPartyCharges")


def parse_balance_result(body: Mapping[str, Any]) -> BalanceAnswer:
    """Decode an Account Balance result into one line per account."""
    result = _result(body)
    code = _code(result)
    params = _params(result)
    raw = params.get("accountbalance")
    return BalanceAnswer(
        query_id=_req_str(result, "OriginatorConversationID"),
        provider_reference=_req_str(result, "ConversationID"),
        code=code,
        description=_opt_str(result.get("ResultDesc")) or "",
        success=code == "0",
        accounts=_accounts(raw) if raw is not None else (),
        completed_at=_time(params.get("bocompletedtime"), "%Y%m%d%H%M%S", "BOCompletedTime"),
    )


def _result(body: object) -> Mapping[str, Any]:  # parsed JSON: any shape may arrive
    result = body.get("Result") if isinstance(body, Mapping) else None
    if not isinstance(result, Mapping):
        raise BadCallback("callback body has no Result object", field="Result")
    return result


def _code(result: Mapping[str, Any]) -> str:
    # Documented as a string, sent as a number, sometimes alphanumeric: keep a string.
    value = result.get("ResultCode")
    if isinstance(value, bool) or not isinstance(value, int | str) or str(value).strip() == "":
        raise BadCallback(f"bad ResultCode {value!r}", field="ResultCode")
    return str(value).strip()


def _params(result: Mapping[str, Any]) -> dict[str, Any]:
    """ResultParameters as a dict keyed loosely (lower case, no spaces)."""
    container = result.get("ResultParameters")
    if container is None:
        return {}
    items = container.get("ResultParameter") if isinstance(container, Mapping) else None
    if isinstance(items, Mapping):  # a single parameter is sometimes not wrapped in a list
        items = [items]
    if not isinstance(items, list):
        raise BadCallback("ResultParameters has no parameter list", field="ResultParameter")
    params: dict[str, Any] = {}
    for item in items:
        if not isinstance(item, Mapping) or not isinstance(item.get("Key"), str):
            raise BadCallback(f"bad result parameter {item!r}", field="ResultParameter")
        # Older samples spell keys with spaces ("Conversation ID"); items may lack Value.
        params[item["Key"].replace(" ", "").lower()] = item.get("Value")
    return params


def _req_str(result: Mapping[str, Any], name: str) -> str:
    value = _opt_str(result.get(name))
    if not value:
        raise BadCallback(f"missing {name}", field=name)
    return value


def _opt_str(value: Any) -> str | None:
    if value is None or isinstance(value, bool | Mapping | list):
        return None
    text = str(value).strip()
    return text or None


def _minor(value: Any, field: str) -> int:
    """Shillings (number or string) to integer cents, exactly: no float arithmetic."""
    if isinstance(value, bool):
        raise BadCallback(f"bad amount {value!r}", field=field)
    try:
        cents = Decimal(str(value).strip()) * 100
    except InvalidOperation:
        raise BadCallback(f"bad amount {value!r}", field=field) from None
    if not cents.is_finite() or cents != cents.to_integral_value():
        raise BadCallback(f"amount {value!r} is not whole cents", field=field)
    return int(cents)


def _opt_minor(params: Mapping[str, Any], key: str) -> int | None:
    value = params.get(key.lower())
    return None if value is None else _minor(value, key)


def _time(value: Any, fmt: str, field: str) -> datetime | None:
    text = _opt_str(value)
    if text is None:
        return None
    try:
        return datetime.strptime(text, fmt).replace(tzinfo=EAT)
    except ValueError:
        raise BadCallback(f"bad {field} {text!r}, expected {fmt}", field=field) from None


def _split_party(value: Any) -> tuple[str | None, str | None]:
    """Split "254711000111 - JANE DOE" into the number and the name."""
    text = _opt_str(value)
    if text is None:
        return None, None
    number, sep, name = text.partition(" - ")
    if not sep:
        return None, text
    return number.strip() or None, name.strip() or None


def _yes_no(value: Any) -> bool | None:
    text = (_opt_str(value) or "").upper()
    return {"Y": True, "N": False}.get(text)


def _accounts(raw: Any) -> tuple[AccountBalance, ...]:
    """Parse "Name|KES|1.00|1.00|0.00|0.00&Name2|…" into account lines."""
    text = _opt_str(raw)
    if text is None:
        raise BadCallback("empty AccountBalance", field="AccountBalance")
    accounts = []
    for part in text.split("&"):
        fields = part.split("|")
        if len(fields) < 3:
            raise BadCallback(f"bad account line {part!r}", field="AccountBalance")
        amounts = tuple(_minor(f, "AccountBalance") for f in fields[2:])
        accounts.append(AccountBalance(fields[0].strip(), fields[1].strip(), amounts))
    return tuple(accounts)
