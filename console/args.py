"""Reading console pages' query strings: bad or unknown values are ignored, never an error page."""

from __future__ import annotations

from datetime import date

from flask import current_app, request

from console import logs
from console.pagination import page_number
from gateway.networks import network_choices

#: The longest free-text search kept: enough for a phrase, short enough for a LIKE.
MAX_TEXT = 100


def date_arg(name: str) -> date | None:
    """An ISO date (``2026-12-02``) from the query string, or None."""
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def choice_arg(name: str, allowed: set[str]) -> str | None:
    """A value from ``allowed``, or None when absent or not one of them."""
    value = request.args.get(name, "")
    return value if value in allowed else None


def text_arg(name: str) -> str | None:
    """Free text to search for, trimmed and cut to MAX_TEXT characters; None when blank."""
    return request.args.get(name, "").strip()[:MAX_TEXT] or None


def phone_arg() -> tuple[str, str | None]:
    """The phone typed (as typed) and its E.164 form (None when it is not a number)."""
    raw = request.args.get("phone", "")
    return raw, logs.phone_query(raw, current_app.extensions["kazi"].settings.default_country)


def network_arg() -> tuple[str, ...]:
    """The codes of the network chosen (``Airtel KE``) or typed (``63903``); () for any."""
    value = request.args.get("network", "").strip()
    choices = network_choices()
    if value in choices:
        return tuple(choices[value])
    return (value,) if value.isdigit() and 5 <= len(value) <= 6 else ()


def page_arg() -> int:
    """The page number asked for (1 when none or nonsense)."""
    return page_number(request.args.get("page"))
