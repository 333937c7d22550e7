"""Phone numbers to E.164 at the edge, with the ``phonenumbers`` library.

Everything inside Kazi stores and compares E.164 (``+254712345678``). Workers and
operators type national forms (``0712 345 678``), Daraja wants ``254…`` without the
plus; both are handled here and nowhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from core.errors import KaziError

DEFAULT_REGION = "KE"

# Digits plus the separators people really type. Letters are refused on purpose:
# phonenumbers would read them as keypad letters ("0711-KAZI"), which is never
# what a worker meant.
_ALLOWED = re.compile(r"^\+?[0-9 ()./-]+$")
_MAX_INPUT = 32

_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


class InvalidNumber(KaziError):
    """A phone number that cannot be turned into a valid E.164 number."""

    http_status = 400
    code = "invalid_number"

    def __init__(self, raw: str, reason: str = "not a valid phone number") -> None:
        shown = raw if len(raw) <= 80 else raw[:80] + "…"  # a hostile payload cannot flood logs
        super().__init__(f"{shown!r}: {reason}", details=[{"input": shown}])
        self.raw = raw


@dataclass(frozen=True, slots=True)
class Msisdn:
    """A valid phone number: its E.164 form and the ISO country it belongs to."""

    e164: str
    region: str

    @property
    def digits(self) -> str:
        """The number without the plus, as Daraja's ``PartyB`` wants it."""
        return self.e164[1:]


def normalize_msisdn(
    raw: str, default_region: str = DEFAULT_REGION, *, mobile_only: bool = False
) -> Msisdn:
    """Parse a phone number typed in any usual form into E.164, or raise InvalidNumber."""
    # Numbers also arrive from untyped edges (JSON, forms): check what came, not the hint.
    value: object = raw
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > _MAX_INPUT or not _ALLOWED.match(text):
        raise InvalidNumber(str(raw))
    number = _parse(text, default_region)
    if number is None or not phonenumbers.is_valid_number(number):
        raise InvalidNumber(text)
    if mobile_only and phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise InvalidNumber(text, "not a mobile number")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    region = phonenumbers.region_code_for_number(number) or default_region
    return Msisdn(e164=e164, region=region)


def _parse(text: str, default_region: str) -> phonenumbers.PhoneNumber | None:
    """Parse with the region's rules, then retry a leading ``00`` as ``+``."""
    candidates = [text]
    # "00" is the international prefix in most of Africa and Europe but not in
    # Kenya ("000"), so "00254…" fails with region KE; people still type it.
    if text.startswith("00"):
        candidates.append("+" + text[2:])
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, default_region)
        except NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return number
    return None


def is_country(code: str) -> bool:
    """Tell whether ``code`` is an ISO 3166-1 alpha-2 country with a telephone numbering plan.

    ``phonenumbers`` keys its metadata by these codes (its one non-country entry,
    ``001`` for global services, is not two letters); a country without a numbering
    plan (Antarctica) has no worker to reach anyway.
    """
    return len(code) == 2 and code in phonenumbers.SUPPORTED_REGIONS
