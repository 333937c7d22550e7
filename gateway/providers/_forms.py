"""Reading provider webhook forms: strict for what identifies a message, lenient for the rest.

A field that says *which* message or session a callback is about (its id, its status,
the worker's number on a hop) is read strictly: every problem is a ``BadWebhook``
naming the field, and the caller answers 400. Every other field is informational, and
a provider writing it differently (``retryCount=1.0``, ``To=2021``) must not cost us
the report: the ``lenient_*`` readers log the odd value and return None, and the raw
form keeps it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from core.phone import InvalidNumber, normalize_msisdn
from gateway.errors import BadWebhook

log = logging.getLogger("kazi.gateway.webhooks")

#: Prefixes Twilio puts on an address to name its channel (``whatsapp:+254...``); see
#: https://www.twilio.com/docs/whatsapp/api#using-twilio-phone-numbers-with-whatsapp
CHANNEL_PREFIXES = ("whatsapp",)

# Twilio caps an SMS body at 1600 characters and a USSD session cannot gather more
# than a few thousand; anything longer is not a provider talking to us.
MAX_FIELD_CHARS = 4096
#: Provider ids (message ids, session ids) are stored in 100-character columns.
ID_MAX_CHARS = 100


def raw_form(form: Mapping[str, object]) -> dict[str, str]:
    """Copy a form (Flask's MultiDict or a dict) into a plain dict for the raw event."""
    return {str(k): v if isinstance(v, str) else repr(v) for k, v in form.items()}


def optional(form: Mapping[str, object], name: str) -> str | None:
    """A field's text, or None when it is absent; refuses non-text and oversized values."""
    value = form.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadWebhook(name, f"expected text, got {type(value).__name__}")
    if len(value) > MAX_FIELD_CHARS:
        raise BadWebhook(name, f"longer than {MAX_FIELD_CHARS} characters", value)
    if "\x00" in value:
        # PostgreSQL text columns cannot hold NUL; refuse it here, not at commit.
        raise BadWebhook(name, "contains a NUL character", value)
    return value


def optional_nonempty(form: Mapping[str, object], name: str) -> str | None:
    """Like ``optional`` but an empty or blank value counts as absent."""
    value = optional(form, name)
    return value.strip() if value and value.strip() else None


def present(form: Mapping[str, object], name: str) -> str:
    """A field that must be present but may be empty (an SMS can be blank)."""
    value = optional(form, name)
    if value is None:
        raise BadWebhook(name, "missing")
    return value


def required(form: Mapping[str, object], name: str, *, max_chars: int | None = None) -> str:
    """A field that must be present and non-blank (and, for an id, fit its column)."""
    value = present(form, name)
    if not value.strip():
        raise BadWebhook(name, "empty")
    if max_chars is not None and len(value.strip()) > max_chars:
        raise BadWebhook(name, f"longer than {max_chars} characters", value)
    return value.strip()


def phone(form: Mapping[str, object], name: str, *, required_field: bool = True) -> str | None:
    """A phone number field in E.164 (a channel prefix dropped), or BadWebhook naming it."""
    value = required(form, name) if required_field else optional_nonempty(form, name)
    if value is None:
        return None
    try:
        return normalize_msisdn(split_channel(value)[1]).e164
    except InvalidNumber as exc:
        raise BadWebhook(name, "not a valid phone number", value) from exc


def integer(form: Mapping[str, object], name: str) -> int | None:
    """An optional non-negative integer field."""
    value = optional_nonempty(form, name)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit():
        raise BadWebhook(name, "expected a whole number", value)
    return int(value)


def lenient_text(form: Mapping[str, object], name: str) -> str | None:
    """An informational text field, or None (logged) when it is not usable text."""
    try:
        return optional_nonempty(form, name)
    except BadWebhook as exc:
        _ignored(exc)
        return None


def lenient_integer(form: Mapping[str, object], name: str) -> int | None:
    """An informational count: ``18342`` or ``18342.0``; anything else is None and logged."""
    value = lenient_text(form, name)
    if value is None:
        return None
    try:
        # AT has been seen writing counts as floats (retryCount=1.0,
        # durationInMillis=18342.0): a whole number in either form is the number.
        number = Decimal(value) if value.isascii() else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or number < 0 or number != number.to_integral():
        _ignored(BadWebhook(name, "expected a whole number", value))
        return None
    if number > 2**31 - 1:
        _ignored(BadWebhook(name, "too large", value))
        return None
    return int(number)


def lenient_phone(form: Mapping[str, object], name: str) -> str | None:
    """An informational phone field in E.164; a short code or odd value is None and logged."""
    value = lenient_text(form, name)
    if value is None:
        return None
    try:
        return normalize_msisdn(split_channel(value)[1]).e164
    except InvalidNumber:
        _ignored(BadWebhook(name, "not a phone number", value))
        return None


def split_channel(address: str) -> tuple[str, str]:
    """``whatsapp:+254...`` → (``whatsapp``, ``+254...``); a plain number is an ``sms`` one."""
    prefix, sep, rest = address.partition(":")
    if sep and prefix.strip().casefold() in CHANNEL_PREFIXES:
        return prefix.strip().casefold(), rest.strip()
    return "sms", address


def _ignored(exc: BadWebhook) -> None:
    log.warning("webhook: ignoring %s (stored as null; the raw event keeps it)", exc.message)


def timestamp(form: Mapping[str, object], name: str) -> datetime | None:
    """A ``YYYY-MM-DD HH:MM:SS`` field read as UTC, or None when absent or unreadable."""
    # The format and zone of AT's dates are unverified, so an odd date must not
    # cost us the message: the raw form keeps the text and we use our own clock.
    value = lenient_text(form, name)
    if value is None:
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def required_phone(form: Mapping[str, object], name: str) -> str:
    """A required phone field as E.164."""
    value = phone(form, name)
    assert value is not None  # required_field=True never returns None
    return value
