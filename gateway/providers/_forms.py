"""Reading provider webhook forms strictly: every problem names the field it is in."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from core.phone import InvalidNumber, normalize_msisdn
from gateway.errors import BadWebhook

# Twilio caps an SMS body at 1600 characters and a USSD session cannot gather more
# than a few thousand; anything longer is not a provider talking to us.
MAX_FIELD_CHARS = 4096


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


def required(form: Mapping[str, object], name: str) -> str:
    """A field that must be present and non-blank."""
    value = present(form, name)
    if not value.strip():
        raise BadWebhook(name, "empty")
    return value.strip()


def phone(form: Mapping[str, object], name: str, *, required_field: bool = True) -> str | None:
    """A phone number field in E.164, or BadWebhook naming the field."""
    value = required(form, name) if required_field else optional_nonempty(form, name)
    if value is None:
        return None
    try:
        return normalize_msisdn(value).e164
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


def timestamp(form: Mapping[str, object], name: str) -> datetime | None:
    """A ``YYYY-MM-DD HH:MM:SS`` field read as UTC, or None when absent or unreadable."""
    # The format and zone of AT's dates are unverified, so an odd date must not
    # cost us the message: the raw form keeps the text and we use our own clock.
    value = optional_nonempty(form, name)
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
