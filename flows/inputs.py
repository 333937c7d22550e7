"""Validation of what a worker types: free text, numbers, amounts and PINs."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata

TEXT_MAX = 160  # one SMS; USSD input boxes are shorter still
PIN_LENGTH = 4
#: What a secret input becomes wherever it is kept or shown (rows, logs, the console).
MASK = "****"
#: The same in a USSD session's text, where Africa's Talking joins inputs with "*": a
#: mask of stars would read as several empty inputs (the console splits on "*").
USSD_MASK = "####"
# PINs anyone would guess first; refused when a worker chooses one.
WEAK_PINS = {"1234", "4321", "0123", "3210", "1212", "2580", "0852", "1122"}


def clean_text(text: str) -> str | None:
    """The trimmed answer, or None when it is empty, too long or unusable.

    '*' and '#' are refused because Africa's Talking joins USSD inputs with '*', and
    emoji/control characters cannot be typed on the phones we serve.
    """
    text = " ".join(text.split())
    if not text or len(text) > TEXT_MAX or "*" in text or "#" in text:
        return None
    for char in text:
        if ord(char) > 0xFFFF or unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "So"):
            return None
    return text


def parse_int(text: str) -> int | None:
    """ASCII digits to an int (at most 9 digits), else None."""
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        return None
    return int(text)


def parse_decimal(text: str) -> str | None:
    """A plain number answer ('12', '-3', '4.5', '4,5') normalised, else None."""
    text = text.strip().replace(",", ".")
    body = text[1:] if text.startswith("-") else text
    whole, _, frac = body.partition(".")
    if not whole.isascii() or not whole.isdigit() or len(body) > 15:
        return None
    if frac and (not frac.isascii() or not frac.isdigit()):
        return None
    return text


def is_pin(text: str) -> bool:
    """Exactly four ASCII digits."""
    return len(text) == PIN_LENGTH and text.isascii() and text.isdigit()


def is_weak_pin(pin: str) -> bool:
    """A PIN of one repeated digit or a well-known sequence."""
    return len(set(pin)) == 1 or pin in WEAK_PINS


def hash_pin(pin: str) -> str:
    """A salted hash, so the first of two PIN entries never sits in session state in clear."""
    salt = secrets.token_hex(8)
    return salt + "$" + hashlib.sha256((salt + pin).encode()).hexdigest()


def pin_matches(pin: str, stored: str) -> bool:
    """Whether a PIN matches a ``hash_pin`` value."""
    salt, _, digest = stored.partition("$")
    return hmac.compare_digest(hashlib.sha256((salt + pin).encode()).hexdigest(), digest)
