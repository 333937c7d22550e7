"""Decode Daraja's asynchronous callbacks (B2C result, queue timeout, status, balance).

Pure functions over the JSON body, shared by the real Daraja client and the local
sandbox, so a demo payout goes through exactly the code path of a real one. Every
malformed body raises ``BadCallback`` naming the field, so the webhook can store the
raw event and answer without guessing about money.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from payouts.errors import BadCallback
from payouts.providers.base import (
    AccountBalance,
    BalanceOutcome,
    PayoutOutcome,
    ResultStatus,
    StatusOutcome,
    classify_result_code,
)

#: M-Pesa timestamps are Kenyan local time (East Africa Time, UTC+3, no DST).
EAT = timezone(timedelta(hours=3), "EAT")
#: M-Pesa in Kenya pays in shillings; the callbacks carry no currency field.
CURRENCY = "KES"


def parse_b2c_result(body: Mapping[str, Any]) -> PayoutOutcome:
    """Decode a B2C result callback into a ``PayoutOutcome``."""
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
    return PayoutOutcome(
        originator_conversation_id=_req_str(result, "OriginatorConversationID"),
        conversation_id=_req_str(result, "ConversationID"),
        result_code=code,
        result_description=_opt_str(result.get("ResultDesc")) or "",
        status=status,
        transaction_id=receipt,
        amount_minor=_minor(amount, "TransactionAmount") if amount is not None else None,
        currency=CURRENCY if amount is not None else None,
        recipient_phone=phone,
        recipient_name=name,
        completed_at=_time(
            params.get("transactioncompleteddatetime"),
            "%d.%m.%Y %H:%M:%S",
            "TransactionCompletedDateTime",
        ),
        utility_balance_minor=_opt_minor(params, "B2CUtilityAccountAvailableFunds"),
        working_balance_minor=_opt_minor(params, "B2CWorkingAccountAvailableFunds"),
        recipient_registered=_yes_no(params.get("b2crecipientisregisteredcustomer")),
    )


def parse_queue_timeout(body: Mapping[str, Any]) -> PayoutOutcome:
    """Decode a queue-timeout notice into an UNKNOWN outcome (never a failure)."""
    result = _result(body)
    # The timeout body is unverified and its sample carries ResultCode 1, which in a
    # result callback means "insufficient balance": the code is kept for the record
    # but never classified, because a timed-out request may still be paid later.
    return PayoutOutcome(
        originator_conversation_id=_req_str(result, "OriginatorConversationID"),
        conversation_id=_opt_str(result.get("ConversationID")) or "",
        result_code=_opt_str(result.get("ResultCode")) or "",
        result_description=_opt_str(result.get("ResultDesc")) or "",
        status=ResultStatus.UNKNOWN,
        transaction_id=_opt_str(result.get("TransactionID")),
        is_queue_timeout=True,
    )


def parse_status_result(body: Mapping[str, Any]) -> StatusOutcome:
    """Decode a Transaction Status result, naming the payout it is about."""
    result = _result(body)
    code = _code(result)
    params = _params(result)
    tx_status = _opt_str(params.get("transactionstatus"))
    # Only a successful query reporting "Completed" proves payment; the other
    # TransactionStatus values are not documented, so they stay for an operator.
    paid = classify_result_code(code) is ResultStatus.SUCCESS and tx_status == "Completed"
    amount = params.get("amount")
    _phone, credit_name = _split_party(params.get("creditpartyname"))
    return StatusOutcome(
        originator_conversation_id=_req_str(result, "OriginatorConversationID"),
        conversation_id=_req_str(result, "ConversationID"),
        result_code=code,
        result_description=_opt_str(result.get("ResultDesc")) or "",
        payout_status=ResultStatus.SUCCESS if paid else ResultStatus.UNKNOWN,
        payout_originator_conversation_id=_opt_str(params.get("originatorconversationid")),
        payout_conversation_id=_opt_str(params.get("conversationid")),
        receipt=_opt_str(params.get("receiptno")),
        transaction_status=tx_status,
        amount_minor=_minor(amount, "Amount") if amount is not None else None,
        currency=CURRENCY if amount is not None else None,
        credit_party_name=credit_name,
        initiated_at=_time(params.get("initiatedtime"), "%Y%m%d%H%M%S", "InitiatedTime"),
        finalised_at=_time(params.get("finalisedtime"), "%Y%m%d%H%M%S", "FinalisedTime"),
    )


def parse_balance_result(body: Mapping[str, Any]) -> BalanceOutcome:
    """Decode an Account Balance result into one line per account."""
    result = _result(body)
    code = _code(result)
    params = _params(result)
    raw = params.get("accountbalance")
    return BalanceOutcome(
        originator_conversation_id=_req_str(result, "OriginatorConversationID"),
        conversation_id=_req_str(result, "ConversationID"),
        result_code=code,
        result_description=_opt_str(result.get("ResultDesc")) or "",
        success=code == "0",
        accounts=_accounts(raw) if raw is not None else (),
        completed_at=_time(params.get("bocompletedtime"), "%Y%m%d%H%M%S", "BOCompletedTime"),
    )


def _result(body: Mapping[str, Any]) -> Mapping[str, Any]:
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


class DarajaCallbackParsing:
    """The ``parse_*`` methods of the payout-provider protocol, shared by every provider
    whose callbacks are Daraja-shaped (Daraja itself and the sandbox), so both go
    through exactly the same decoding."""

    def parse_result(self, body: Mapping[str, Any]) -> PayoutOutcome:
        """Decode a B2C result callback."""
        return parse_b2c_result(body)

    def parse_timeout(self, body: Mapping[str, Any]) -> PayoutOutcome:
        """Decode a queue-timeout callback (always an UNKNOWN outcome)."""
        return parse_queue_timeout(body)

    def parse_status_result(self, body: Mapping[str, Any]) -> StatusOutcome:
        """Decode a Transaction Status result callback."""
        return parse_status_result(body)

    def parse_balance_result(self, body: Mapping[str, Any]) -> BalanceOutcome:
        """Decode an Account Balance result callback."""
        return parse_balance_result(body)
