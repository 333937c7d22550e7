"""SMS length rules: GSM-7 or UCS-2, and how many segments a text costs.

Billing and throughput are per segment, and multipart SMS can arrive out of order on
feature phones, so worker-facing texts should stay within one segment. Rules (3GPP
TS 23.038/23.040, as Twilio documents them): GSM-7 holds 160 septets in one message
or 153 per part; an extension-table character costs two septets (escape + char).
Any other character forces UCS-2 for the whole message: 70 UTF-16 code units in one
message or 67 per part, and a character outside the BMP (most emoji) costs two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

# GSM 03.38 default alphabet, in table order, without 0x1B (the escape itself is
# not a character a text can contain).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: each costs an escape septet plus its own.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

_LIMITS: dict[Encoding, tuple[int, int]] = {"GSM-7": (160, 153), "UCS-2": (70, 67)}


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """How a text would travel: its encoding, size in units and number of segments."""

    encoding: Encoding
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int


def is_gsm7(text: str) -> bool:
    """True when every character of the text exists in GSM-7 (basic or extension)."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def char_units(ch: str, encoding: Encoding) -> int:
    """The cost of one character in the given encoding (septets or UTF-16 units)."""
    if encoding == "GSM-7":
        return 2 if ch in GSM7_EXTENSION else 1
    return 2 if ord(ch) > 0xFFFF else 1


def count_segments(text: str) -> SegmentInfo:
    """Work out the encoding and segment count of an SMS body."""
    encoding: Encoding = "GSM-7" if is_gsm7(text) else "UCS-2"
    costs = [char_units(ch, encoding) for ch in text]
    units = sum(costs)
    single, part = _LIMITS[encoding]
    if units <= single:
        # An empty body is still one (empty) message on the wire.
        return SegmentInfo(encoding, units, 1)
    return SegmentInfo(encoding, units, _pack(costs, part))


def _pack(costs: list[int], capacity: int) -> int:
    """Count parts when a two-unit character may not straddle a part boundary."""
    # Phones and SMSCs never split an escape sequence or a surrogate pair across
    # parts, so a part can end one unit short; simple division would undercount.
    parts, used = 1, 0
    for cost in costs:
        if used + cost > capacity:
            parts, used = parts + 1, 0
        used += cost
    return parts
