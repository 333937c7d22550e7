"""Africa's Talking: USSD and SMS webhooks decoded, statuses mapped, SMS sent via the SDK.

AT does not sign callbacks; the views check the ``token`` query parameter before
calling the parsers here. Field names and statuses: Africa's Talking's USSD and SMS
notification pages (https://developers.africastalking.com/docs/ussd/overview,
https://developers.africastalking.com/docs/sms/notifications) and its Python SDK
(https://github.com/AfricasTalkingLtd/africastalking-python, version 2.0.3).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import requests
from africastalking.Service import AfricasTalkingException
from africastalking.SMS import SMSService

from core.medium import count_segments
from core.phone import InvalidNumber, normalize_msisdn
from gateway.delivery import DeliveryStatus
from gateway.errors import (
    PermanentSendError,
    SendError,
    TemporarySendError,
    UnknownProviderStatus,
    clip,
)
from gateway.inbound import (
    DeliveryReport,
    InboundSms,
    OptOutNotice,
    UssdEndStatus,
    UssdRequest,
    UssdSessionEnd,
)
from gateway.providers import _forms as f
from gateway.providers._forms import ID_MAX_CHARS
from gateway.providers.base import SendOutcome, SendResult, network_send_error, parse_cost

PROVIDER = "africastalking"

log = logging.getLogger("kazi.gateway.africastalking")

# AT documents no per-request recipient cap; 100 keeps each call well inside the
# SDK's 9 s read timeout. With enqueue=1 AT answers before contacting the networks.
BULK_BATCH_SIZE = 100


class _Row(NamedTuple):
    status: DeliveryStatus
    reason: str | None = None  # our failure reason; None for progress statuses
    temporary: bool = False  # a send-time failure a retry may fix
    opted_out: bool = False  # the worker blocked us: mark them opted out
    name: str | None = None  # AT's name for a send statusCode


_D = DeliveryStatus

#: Every AT status we know, delivery-report names and send-response statusCodes in
#: one table (keys compared case-insensitively). Sources: AT's SMS notifications page (delivery
#: report statuses and failure reasons) and its sending page (per-recipient statuses).
STATUSES: dict[str, _Row] = {
    # Delivery reports.
    "sent": _Row(_D.SENT),
    "submitted": _Row(_D.SENT),
    "buffered": _Row(_D.SENT),  # held by the network, e.g. phone off: still in flight
    "success": _Row(_D.DELIVERED),
    "failed": _Row(_D.UNDELIVERED, "failed"),
    "absentsubscriber": _Row(_D.UNDELIVERED, "absent_subscriber"),
    "expired": _Row(_D.UNDELIVERED, "expired"),
    "rejected": _Row(_D.FAILED, "rejected"),
    # Send response, per recipient. 1xx only means "accepted": delivery comes later.
    "100": _Row(_D.ACCEPTED, name="Processed"),
    "101": _Row(_D.ACCEPTED, name="Sent"),
    "102": _Row(_D.ACCEPTED, name="Queued"),
    "401": _Row(_D.FAILED, "risk_hold", name="RiskHold"),
    "402": _Row(_D.FAILED, "invalid_sender_id", name="InvalidSenderId"),
    "403": _Row(_D.FAILED, "invalid_number", name="InvalidPhoneNumber"),
    "404": _Row(_D.FAILED, "unsupported_number_type", name="UnsupportedNumberType"),
    "405": _Row(_D.ERRORED, "insufficient_balance", temporary=True, name="InsufficientBalance"),
    "406": _Row(_D.FAILED, "blacklisted", opted_out=True, name="UserInBlacklist"),
    "407": _Row(_D.ERRORED, "could_not_route", temporary=True, name="CouldNotRoute"),
    "409": _Row(_D.FAILED, "do_not_disturb", opted_out=True, name="DoNotDisturbRejection"),
    "500": _Row(_D.ERRORED, "provider_error", temporary=True, name="InternalServerError"),
    "501": _Row(_D.ERRORED, "provider_error", temporary=True, name="GatewayError"),
    "502": _Row(_D.FAILED, "rejected", name="RejectedByGateway"),
}

# The same failures by name, for whole-request answers such as
# {"Message": "InvalidSenderId", "Recipients": []}.
_FAILURE_CODES_BY_NAME: dict[str, str] = {
    row.name.casefold(): code for code, row in STATUSES.items() if row.name and row.reason
}

#: Delivery-report failure reasons that mean the worker blocked our messages.
OPT_OUT_FAILURE_REASONS = frozenset({"userinblacklist", "donotdisturbrejection"})

_USSD_END = {
    "success": UssdEndStatus.SUCCESS,
    "incomplete": UssdEndStatus.INCOMPLETE,
    "failed": UssdEndStatus.FAILED,
}


def status_row(status: str) -> _Row:
    """Look up an AT status or statusCode in the table, or raise UnknownProviderStatus."""
    row = STATUSES.get(status.strip().casefold())
    if row is None:
        raise UnknownProviderStatus(PROVIDER, status)
    return row


def map_status(status: str) -> DeliveryStatus:
    """Map an AT delivery-report status or send statusCode to our DeliveryStatus."""
    return status_row(status).status


# --- webhooks ------------------------------------------------------------------


def parse_ussd_request(form: Mapping[str, object]) -> UssdRequest:
    """Decode one USSD hop from AT's form."""
    return UssdRequest(
        provider=PROVIDER,
        session_id=f.required(form, "sessionId", max_chars=ID_MAX_CHARS),
        service_code=f.required(form, "serviceCode"),
        phone=f.required_phone(form, "phoneNumber"),
        network_code=f.lenient_text(form, "networkCode"),
        # Missing text is read as the first hop: a proxy or simulator that drops
        # empty fields must not break the first dial.
        text=(f.optional(form, "text") or "").strip(),
        raw=f.raw_form(form),
    )


def parse_ussd_end(form: Mapping[str, object]) -> UssdSessionEnd:
    """Decode AT's end-of-session notification; only the session and its status are required."""
    status = f.required(form, "status")
    end = _USSD_END.get(status.casefold(), UssdEndStatus.UNKNOWN)
    if end is UssdEndStatus.UNKNOWN:
        log.warning("africastalking: unknown USSD end status %r stored as unknown", clip(status))
    cost = f.lenient_text(form, "cost")
    currency, amount = parse_cost(cost)
    return UssdSessionEnd(
        provider=PROVIDER,
        session_id=f.required(form, "sessionId", max_chars=ID_MAX_CHARS),
        service_code=f.lenient_text(form, "serviceCode"),
        phone=f.lenient_phone(form, "phoneNumber"),
        network_code=f.lenient_text(form, "networkCode"),
        status=end,
        provider_status=status,
        duration_ms=f.lenient_integer(form, "durationInMillis"),
        hops=f.lenient_integer(form, "hopsCount"),
        cost=cost,
        cost_amount=amount,
        cost_currency=currency,
        final_input=f.lenient_text(form, "input") or "",
        last_response=f.lenient_text(form, "lastAppResponse"),
        error=f.lenient_text(form, "errorMessage"),
        ended_at=f.timestamp(form, "date"),
        raw=f.raw_form(form),
    )


def parse_inbound_sms(form: Mapping[str, object]) -> InboundSms:
    """Decode an incoming SMS from AT's form."""
    text = f.present(form, "text")
    return InboundSms(
        provider=PROVIDER,
        provider_message_id=_optional_id(form, "id"),
        sender=f.required_phone(form, "from"),
        recipient=f.required(form, "to"),
        text=text,
        received_at=f.timestamp(form, "date"),
        network_code=f.lenient_text(form, "networkCode"),
        link_id=f.lenient_text(form, "linkId"),
        raw=f.raw_form(form),
    )


def parse_delivery_report(form: Mapping[str, object]) -> DeliveryReport:
    """Decode an AT delivery report; only its id and status are required."""
    message_id = f.required(form, "id", max_chars=ID_MAX_CHARS)
    status = f.required(form, "status")
    row = STATUSES.get(status.casefold()) if status.isalpha() else None
    if row is None:
        # A new AT status (or a send statusCode, which belongs to the send response) is
        # kept as unknown: the report is stored, the message does not move.
        log.warning("africastalking: unknown delivery status %r stored as unknown", clip(status))
    reason = f.lenient_text(form, "failureReason")
    return DeliveryReport(
        provider=PROVIDER,
        provider_message_id=message_id,
        status=row.status if row else None,
        provider_status=status,
        phone=f.lenient_phone(form, "phoneNumber"),
        failure_reason=reason or (row.reason if row else None),
        network_code=f.lenient_text(form, "networkCode"),
        opted_out=bool(reason and reason.casefold() in OPT_OUT_FAILURE_REASONS),
        retry_count=f.lenient_integer(form, "retryCount"),
        raw=f.raw_form(form),
    )


def _optional_id(form: Mapping[str, object], name: str) -> str | None:
    value = f.optional_nonempty(form, name)
    return f.required(form, name, max_chars=ID_MAX_CHARS) if value else None


def parse_optout_notification(form: Mapping[str, object]) -> OptOutNotice:
    """Decode AT's bulk SMS opt-out callback (fields ``senderId``, ``phoneNumber``)."""
    return OptOutNotice(
        provider=PROVIDER,
        phone=f.required_phone(form, "phoneNumber"),
        sender_id=f.optional_nonempty(form, "senderId"),
        raw=f.raw_form(form),
    )


# --- sending -------------------------------------------------------------------


class AfricasTalkingProvider:
    """Sends SMS through the official ``africastalking`` SDK."""

    name = PROVIDER

    def __init__(
        self,
        username: str,
        api_key: str,
        sender_id: str | None = None,
        *,
        timeout: tuple[float, float] = (3.05, 9.05),
        batch_size: int = BULK_BATCH_SIZE,
        sms_service: Any = None,
    ) -> None:
        # SMSService is what africastalking.initialize() builds, minus the module
        # globals: two accounts (or tests) cannot overwrite each other's credentials.
        # The SDK picks the sandbox host itself when username == "sandbox".
        self._sms = sms_service or SMSService(username, api_key)
        self._sender_id = sender_id
        self._timeout = timeout
        self._batch_size = batch_size

    def send(self, to: str, body: str, *, callback_url: str | None = None) -> SendResult:
        """Send one SMS. AT has no per-message callback URL: reports use the dashboard's."""
        outcome = self.send_bulk([to], body)[0]
        if outcome.error is not None:
            raise outcome.error
        assert outcome.result is not None
        return outcome.result

    def send_bulk(self, recipients: Sequence[str], body: str) -> list[SendOutcome]:
        """Send one text to many numbers in batches; one outcome per recipient, in order."""
        outcomes: dict[int, SendOutcome] = {}
        valid: list[tuple[int, str]] = []
        for index, raw in enumerate(recipients):
            try:
                valid.append((index, normalize_msisdn(raw).e164))
            except InvalidNumber as exc:
                outcomes[index] = SendOutcome(raw, error=_invalid_number(exc))
        for start in range(0, len(valid), self._batch_size):
            batch = valid[start : start + self._batch_size]
            numbers = [number for _, number in batch]
            for (index, _), outcome in zip(batch, self._send_batch(numbers, body), strict=True):
                outcomes[index] = outcome
        return [outcomes[i] for i in range(len(recipients))]

    def _send_batch(self, numbers: list[str], body: str) -> list[SendOutcome]:
        """One SDK call; a whole-request failure becomes every recipient's error."""
        try:
            answer = self._sms.send(
                body,
                numbers,
                sender_id=self._sender_id,
                enqueue=len(numbers) > 1,
                timeout=self._timeout,
            )
            return interpret_send_response(answer, numbers, body)
        except requests.RequestException as exc:
            error: SendError = network_send_error(PROVIDER, exc)
        except AfricasTalkingException as exc:
            error = _http_error(str(exc))
        return [SendOutcome(number, error=error) for number in numbers]


def interpret_send_response(answer: object, numbers: list[str], body: str) -> list[SendOutcome]:
    """Turn AT's send answer into one outcome per number, trusting statusCode not status."""
    payload = _as_json(answer)
    data = payload.get("SMSMessageData") if isinstance(payload, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("Recipients"), list):
        # 2xx but unreadable: AT may have sent it, so the retry decision is the caller's.
        error: SendError = TemporarySendError(
            "africastalking: unreadable send response",
            provider=PROVIDER,
            reason="bad_response",
            maybe_sent=True,
        )
        return [SendOutcome(n, error=error) for n in numbers]
    by_number = {str(r.get("number")): r for r in data["Recipients"] if isinstance(r, dict)}
    if not by_number:
        error = _request_refused(str(data.get("Message", "")))
        return [SendOutcome(n, error=error) for n in numbers]
    return [_recipient_outcome(n, by_number.get(n), body) for n in numbers]


def _recipient_outcome(number: str, entry: dict[str, Any] | None, body: str) -> SendOutcome:
    """The outcome for one recipient's entry in the Recipients list."""
    if entry is None:
        # AT answered for others but not this number: it was not accepted.
        return SendOutcome(number, error=_temporary("missing_recipient", None, maybe_sent=True))
    code = str(entry.get("statusCode", ""))
    row = STATUSES.get(code) if code.isdigit() else None
    if row is None:
        # An unknown code could mean sent; never retry blindly (no double SMS).
        return SendOutcome(number, error=_permanent("unknown_status", code or None))
    if row.status is DeliveryStatus.ACCEPTED:
        return SendOutcome(number, result=_result(number, entry, body))
    if row.temporary:
        return SendOutcome(number, error=_temporary(row.reason or "provider_error", code))
    return SendOutcome(
        number, error=_permanent(row.reason or "rejected", code, opted_out=row.opted_out)
    )


def _result(number: str, entry: dict[str, Any], body: str) -> SendResult:
    """A SendResult from an accepted recipient entry."""
    info = count_segments(body)
    cost = str(entry["cost"]) if entry.get("cost") is not None else None
    currency, amount = parse_cost(cost)
    return SendResult(
        provider=PROVIDER,
        to=number,
        provider_message_id=str(entry.get("messageId", "")),
        status=DeliveryStatus.ACCEPTED,
        segments=info.segments,
        encoding=info.encoding,
        cost=cost,
        cost_amount=amount,
        cost_currency=currency,
        raw=dict(entry),
    )


def _as_json(answer: object) -> object:
    """The SDK returns a dict only for an exact ``application/json`` type; parse the rest."""
    if isinstance(answer, str):
        try:
            return json.loads(answer)
        except ValueError:
            return None
    return answer


def _request_refused(message: str) -> SendError:
    """Classify a whole-request refusal (empty Recipients) by AT's Message text."""
    code = _FAILURE_CODES_BY_NAME.get(message.strip().casefold())
    row = STATUSES[code] if code else None
    if row is None:
        # Nothing was accepted, so a retry cannot duplicate a message.
        return _temporary("request_refused", message or None)
    if row.temporary:
        return _temporary(row.reason or "provider_error", code)
    return _permanent(row.reason or "rejected", code, opted_out=row.opted_out)


def _http_error(text: str) -> SendError:
    """Classify the SDK's exception for a non-2xx answer; it carries only the body text."""
    # The SDK drops the HTTP status, so only known bodies can be told apart: a bad
    # API key (401) will not fix itself; anything else (5xx, throttling) may.
    if "authentication is invalid" in text.casefold():
        return _permanent("auth_failed", "401")
    return _temporary("http_error", None)


def _invalid_number(exc: InvalidNumber) -> PermanentSendError:
    """A recipient we refused before calling AT."""
    error = _permanent("invalid_number", None)
    error.__cause__ = exc
    return error


def _temporary(reason: str, code: str | None, *, maybe_sent: bool = False) -> TemporarySendError:
    return TemporarySendError(
        f"africastalking: {reason}",
        provider=PROVIDER,
        reason=reason,
        provider_code=code,
        maybe_sent=maybe_sent,
    )


def _permanent(reason: str, code: str | None, *, opted_out: bool = False) -> PermanentSendError:
    return PermanentSendError(
        f"africastalking: {reason}",
        provider=PROVIDER,
        reason=reason,
        provider_code=code,
        opted_out=opted_out,
    )
