"""Twilio: SMS webhooks decoded and verified, statuses mapped, SMS sent via the library.

Twilio signs every webhook (``X-Twilio-Signature``); the views call
``twilio_signature_valid`` with the public URL before the parsers here.
Field names and statuses: Twilio's webhook request and outbound status pages
(https://www.twilio.com/docs/messaging/guides/webhook-request,
https://www.twilio.com/docs/messaging/guides/track-outbound-message-status) and
webhook security (https://www.twilio.com/docs/usage/webhooks/webhooks-security).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from core.medium import count_segments
from core.phone import InvalidNumber, normalize_msisdn
from gateway.delivery import DeliveryStatus
from gateway.errors import (
    BadWebhook,
    PermanentSendError,
    SendError,
    TemporarySendError,
    UnknownProviderStatus,
    clip,
)
from gateway.inbound import DeliveryReport, InboundSms
from gateway.providers import _forms as f
from gateway.providers.base import (
    SendOutcome,
    SendResult,
    network_send_error,
    parse_cost,
    send_each,
)

PROVIDER = "twilio"

log = logging.getLogger("kazi.gateway.twilio")

_D = DeliveryStatus

#: Every value of Twilio's Message status enum (the outbound status page above), in our words.
STATUSES: dict[str, DeliveryStatus] = {
    "accepted": _D.ACCEPTED,  # Messaging Service took it
    "scheduled": _D.ACCEPTED,
    "queued": _D.ACCEPTED,
    "sending": _D.ACCEPTED,  # Twilio is handing it to the carrier
    "sent": _D.SENT,
    "delivered": _D.DELIVERED,
    "read": _D.DELIVERED,  # WhatsApp only in practice; read implies delivered
    # Some parts reached the phone, some did not: the worker may hold half a task,
    # so it does not count as delivered.
    "partially_delivered": _D.UNDELIVERED,
    "undelivered": _D.UNDELIVERED,
    "failed": _D.FAILED,
    "canceled": _D.FAILED,  # a scheduled message cancelled before sending
    "receiving": _D.RECEIVED,  # inbound statuses: never valid for an outbound message
    "received": _D.RECEIVED,
}

#: Twilio error codes meaning the recipient opted out (replied STOP to our sender).
OPT_OUT_ERROR_CODES = frozenset({21610})


class _Verdict(NamedTuple):
    reason: str
    temporary: bool = False
    opted_out: bool = False


#: Error codes of the create-message API (twilio.com/docs/api/errors) we act on.
ERROR_CODES: dict[int, _Verdict] = {
    20003: _Verdict("auth_failed"),
    20429: _Verdict("rate_limited", temporary=True),
    21211: _Verdict("invalid_number"),
    21212: _Verdict("invalid_sender_id"),
    21408: _Verdict("region_not_enabled"),
    21606: _Verdict("invalid_sender_id"),
    21610: _Verdict("opted_out", opted_out=True),
    21611: _Verdict("queue_full", temporary=True),  # sender queue overflow
    21612: _Verdict("unroutable"),
    21614: _Verdict("not_mobile"),
    21617: _Verdict("body_too_long"),
    30001: _Verdict("queue_full", temporary=True),
}


def map_status(status: str) -> DeliveryStatus:
    """Map a Twilio MessageStatus to our DeliveryStatus, or raise UnknownProviderStatus."""
    mapped = STATUSES.get(status.strip().lower())
    if mapped is None:
        raise UnknownProviderStatus(PROVIDER, status)
    return mapped


# --- webhooks ------------------------------------------------------------------


def twilio_signature_valid(
    auth_token: str, public_url: str, form: Mapping[str, Any], signature: str | None
) -> bool:
    """True when ``X-Twilio-Signature`` matches the form posted to ``public_url``."""
    # An empty token would "validate" anything signed with an empty key.
    if not auth_token or not signature:
        return False
    # RequestValidator compares in constant time and tries the URL with and without
    # the default port; a MultiDict is passed through so repeated keys all count.
    return bool(RequestValidator(auth_token).validate(public_url, form, signature))


def public_url_for(path_with_query: str, public_base_url: str) -> str:
    """The URL Twilio called, rebuilt from PUBLIC_BASE_URL and the request's path and query."""
    # Behind a TLS-terminating proxy the app sees http://internal-host/...; Twilio
    # signed https://public-host/..., so the scheme and host must come from config.
    base = urlsplit(public_base_url.strip())
    if base.scheme not in ("http", "https") or not base.netloc:
        raise ValueError(f"public base URL must be absolute http(s): {public_base_url!r}")
    path, _, query = path_with_query.partition("?")
    # The base may carry a prefix ("https://host/kazi") when the app is mounted there.
    url = base.scheme + "://" + base.netloc + base.path.rstrip("/") + "/" + path.lstrip("/")
    # Flask's full_path ends in "?" when there is no query; Twilio never signs that.
    return url + ("?" + query if query else "")


def parse_inbound_sms(form: Mapping[str, object]) -> InboundSms:
    """Decode an incoming SMS (or WhatsApp message: ``From=whatsapp:+254...``) from Twilio."""
    body = f.present(form, "Body")
    channel, _ = f.split_channel(f.required(form, "From"))
    return InboundSms(
        provider=PROVIDER,
        provider_message_id=_message_sid(form),
        sender=f.required_phone(form, "From"),
        recipient=f.required(form, "To"),
        text=body,
        received_at=None,  # Twilio sends no timestamp; the caller uses its own clock
        segments=f.lenient_integer(form, "NumSegments"),
        channel=channel,
        raw=f.raw_form(form),
    )


def parse_status_callback(form: Mapping[str, object]) -> DeliveryReport:
    """Decode a Twilio status callback; only MessageSid and MessageStatus are required."""
    message_id = _message_sid(form)
    status = f.optional_nonempty(form, "MessageStatus") or f.optional_nonempty(form, "SmsStatus")
    if status is None:
        raise BadWebhook("MessageStatus", "missing")
    mapped = STATUSES.get(status.lower())
    if mapped is None:
        log.warning("twilio: unknown message status %r stored as unknown", clip(status))
    code = f.lenient_integer(form, "ErrorCode")
    return DeliveryReport(
        provider=PROVIDER,
        provider_message_id=message_id,
        status=mapped,
        provider_status=status,
        # A short code (To=2021) or a WhatsApp address is still a report about our message.
        phone=f.lenient_phone(form, "To"),
        failure_reason=str(code) if code is not None else None,
        opted_out=code in OPT_OUT_ERROR_CODES,
        segments=f.lenient_integer(form, "NumSegments"),
        raw=f.raw_form(form),
    )


def _message_sid(form: Mapping[str, object]) -> str:
    """MessageSid, falling back to the deprecated SmsSid."""
    sid = f.optional_nonempty(form, "MessageSid") or f.optional_nonempty(form, "SmsSid")
    if sid is None:
        raise BadWebhook("MessageSid", "missing")
    if len(sid) > f.ID_MAX_CHARS:
        raise BadWebhook("MessageSid", f"longer than {f.ID_MAX_CHARS} characters", sid)
    return sid


# --- sending -------------------------------------------------------------------


class TwilioProvider:
    """Sends SMS through the official ``twilio`` library."""

    name = PROVIDER

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        timeout: float = 10.0,
        client: Any = None,
    ) -> None:
        if not from_number and not messaging_service_sid:
            raise ValueError("Twilio needs a from number or a messaging service sid")
        # An explicit timeout: the library's default waits forever on a dead socket.
        self._client = client or Client(
            account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout)
        )
        self._from = from_number
        self._service = messaging_service_sid

    def send(self, to: str, body: str, *, callback_url: str | None = None) -> SendResult:
        """Send one SMS; ``callback_url`` receives Twilio's status callbacks."""
        try:
            number = normalize_msisdn(to).e164
        except InvalidNumber as exc:
            raise _permanent("invalid_number", None) from exc
        kwargs: dict[str, Any] = {"to": number, "body": body}
        if self._service:
            # A Messaging Service picks the sender and handles opt-out keywords.
            kwargs["messaging_service_sid"] = self._service
        else:
            kwargs["from_"] = self._from
        if callback_url:
            kwargs["status_callback"] = callback_url
        try:
            message = self._client.messages.create(**kwargs)
        except TwilioRestException as exc:
            raise classify_rest_error(exc) from exc
        except requests.RequestException as exc:
            raise network_send_error(PROVIDER, exc) from exc
        return _result(number, body, message)

    def send_bulk(self, recipients: Sequence[str], body: str) -> list[SendOutcome]:
        """Send one text to many numbers, one API call each (Twilio has no batch send)."""
        return send_each(self, recipients, body)


def classify_rest_error(exc: TwilioRestException) -> SendError:
    """Map a TwilioRestException to a temporary or permanent send error."""
    code = exc.code if isinstance(exc.code, int) else None
    verdict = ERROR_CODES.get(code) if code is not None else None
    shown = str(code) if code is not None else str(exc.status)
    if verdict is not None:
        if verdict.temporary:
            return _temporary(verdict.reason, shown)
        return _permanent(verdict.reason, shown, opted_out=verdict.opted_out)
    if exc.status == 429:
        return _temporary("rate_limited", shown)
    if exc.status >= 500:
        return _temporary("provider_error", shown)
    # Any other 4xx: the request itself is wrong, and resending it cannot help.
    return _permanent("rejected", shown)


def _result(number: str, body: str, message: Any) -> SendResult:
    """A SendResult from the created Message resource."""
    info = count_segments(body)
    segments = _int_or_none(getattr(message, "num_segments", None)) or info.segments
    price = getattr(message, "price", None)
    unit = getattr(message, "price_unit", None)
    cost = f"{unit} {price}" if price is not None and unit else None
    currency, amount = parse_cost(cost)
    status = str(getattr(message, "status", None) or "queued")
    # The message exists at Twilio now (it has a sid): an odd initial status must
    # not raise, or the send job would fail and be retried into a duplicate SMS.
    mapped = STATUSES.get(status.lower(), DeliveryStatus.ACCEPTED)
    return SendResult(
        provider=PROVIDER,
        to=number,
        provider_message_id=str(message.sid),
        status=mapped,
        segments=segments,
        encoding=info.encoding,
        cost=cost,
        cost_amount=amount,
        cost_currency=currency,
        raw={"sid": message.sid, "status": status, "num_segments": segments},
    )


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


def _temporary(reason: str, code: str | None) -> TemporarySendError:
    return TemporarySendError(
        f"twilio: {reason}", provider=PROVIDER, reason=reason, provider_code=code
    )


def _permanent(reason: str, code: str | None, *, opted_out: bool = False) -> PermanentSendError:
    return PermanentSendError(
        f"twilio: {reason}",
        provider=PROVIDER,
        reason=reason,
        provider_code=code,
        opted_out=opted_out,
    )
