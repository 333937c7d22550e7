"""The medium's hard limits, in one place: SMS segments (GSM-7 or UCS-2) and USSD screens.

SMS. Billing and throughput are per segment, and multipart SMS can arrive out of order on
feature phones, so worker-facing texts should stay within one segment. Rules (3GPP
TS 23.038/23.040, as Twilio documents them): GSM-7 holds 160 septets in one message
or 153 per part; an extension-table character costs two septets (escape + char).
Any other character forces UCS-2 for the whole message: 70 UTF-16 code units in one
message or 67 per part, and a character outside the BMP (most emoji) costs two.

USSD. The whole answer body, its ``CON ``/``END `` prefix included, is at most
``USSD_MAX_BODY`` = 182 units: the GSM USSD payload (160 octets of packed 7-bit =
182 septets, 3GPP TS 23.038). Africa's Talking's own limit is not published and some
networks cut at 160; counting the 4-character prefix is the reading that is safe
whether or not the aggregator counts it, so a screen's text gets ``USSD_MAX_TEXT`` =
178 units. Units are those of the SMS rules: GSM-7 septets (an extension character
such as ``{`` or ``€`` costs 2) when the text is GSM-7, otherwise UTF-16 code units.
Non-GSM text travels as UCS-2 on the air, where networks may allow as few as 80
characters: screens should stay GSM-7 (plain ASCII is safest).
"""

from __future__ import annotations

import unicodedata
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

#: Typographic characters outside GSM-7 and the GSM-7 text that looks the same. One
#: curly quote pasted from a word processor would otherwise make a whole SMS UCS-2
#: (70 characters a segment instead of 160) and a USSD screen UCS-2 on the air. Only
#: pure look-alikes are here: letters (ê, ç, ł) are not, since swapping them changes
#: the word. Sources: Unicode's General Punctuation block and Twilio's "smart
#: encoding" list (https://www.twilio.com/docs/messaging/services/smart-encoding-char-list).
GSM7_LOOKALIKES: dict[str, str] = {
    "‘": "'",  # ‘ left single quotation mark
    "’": "'",  # ’ right single quotation mark (and apostrophe)
    "‚": "'",  # ‚ single low-9 quotation mark
    "‛": "'",  # ‛ single high-reversed-9 quotation mark
    "′": "'",  # ′ prime
    "ʼ": "'",  # ʼ modifier letter apostrophe
    "“": '"',  # “ left double quotation mark
    "”": '"',  # ” right double quotation mark
    "„": '"',  # „ double low-9 quotation mark
    "‟": '"',  # ‟ double high-reversed-9 quotation mark
    "″": '"',  # ″ double prime
    "«": '"',  # « left-pointing double angle quotation mark
    "»": '"',  # » right-pointing double angle quotation mark
    "‹": "'",  # ‹ single left-pointing angle quotation mark
    "›": "'",  # › single right-pointing angle quotation mark
    "‐": "-",  # ‐ hyphen
    "‑": "-",  # ‑ non-breaking hyphen
    "‒": "-",  # ‒ figure dash
    "–": "-",  # – en dash
    "—": "-",  # — em dash
    "―": "-",  # ― horizontal bar
    "−": "-",  # − minus sign
    "…": "...",  # … horizontal ellipsis
    " ": " ",  # no-break space
    " ": " ",  # en space
    " ": " ",  # em space
    " ": " ",  # thin space
    " ": " ",  # narrow no-break space
    "​": "",  # zero-width space
    "﻿": "",  # zero-width no-break space (a stray byte-order mark)
    "•": "*",  # • bullet
    "ˆ": "^",  # ˆ modifier letter circumflex
    "˜": "~",  # ˜ small tilde
}
_LOOKALIKE_TABLE = str.maketrans(GSM7_LOOKALIKES)

_LIMITS: dict[Encoding, tuple[int, int]] = {"GSM-7": (160, 153), "UCS-2": (70, 67)}

USSD_MAX_BODY = 182
USSD_PREFIX_LEN = 4  # "CON " / "END "
USSD_MAX_TEXT = USSD_MAX_BODY - USSD_PREFIX_LEN
ELLIPSIS = "..."  # ASCII: "…" is not GSM-7 and would switch the screen to UCS-2

_JOINERS = {"\u200d", "\u200c"}  # zero-width (non-)joiner glue the neighbouring chars


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """How a text would travel: its encoding, size in units and number of segments."""

    encoding: Encoding
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int


def is_gsm7(text: str) -> bool:
    """True when every character of the text exists in GSM-7 (basic or extension)."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def to_gsm7(text: str) -> str:
    """Replace typographic look-alikes (’ “ ” … – —) by their GSM-7 twins; nothing else changes."""
    return text.translate(_LOOKALIKE_TABLE)


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


def sms_segments(text: str) -> int:
    """How many SMS segments the text costs."""
    return count_segments(text).segments


def ussd_length(text: str) -> int:
    """The size of a screen text in the units the 182 rule counts."""
    encoding: Encoding = "GSM-7" if is_gsm7(text) else "UCS-2"
    return sum(char_units(ch, encoding) for ch in text)


def fit_ussd_text(text: str, limit: int = USSD_MAX_TEXT) -> str:
    """Return the text unchanged if it fits ``limit`` units, else cut it cleanly."""
    # \r would show as a stray character on some handsets; menus use \n only.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if ussd_length(text) <= limit:
        return text
    encoding: Encoding = "GSM-7" if is_gsm7(text) else "UCS-2"
    budget = limit - len(ELLIPSIS)
    used, cut = 0, 0
    for index, ch in enumerate(text):
        # Python strings hold code points, so a surrogate pair is one character
        # here and can never be split; its 2 units are counted by char_units.
        cost = char_units(ch, encoding)
        if used + cost > budget:
            break
        used, cut = used + cost, index + 1
    # Do not end inside a cluster: a letter without its accent, an emoji without
    # its modifier or half a joined emoji reads as a different character. Back off
    # until the next character neither attaches to nor is joined to the kept text.
    while 0 < cut < len(text) and (_continues_cluster(text[cut]) or text[cut - 1] in _JOINERS):
        cut -= 1
    return text[:cut].rstrip() + ELLIPSIS


def _continues_cluster(ch: str) -> bool:
    """True for characters that attach to the one before (accents, joiners, selectors)."""
    return (
        unicodedata.combining(ch) != 0
        or ch in _JOINERS
        or "\ufe00" <= ch <= "\ufe0f"  # variation selectors (emoji vs text style)
        or "\U0001f3fb" <= ch <= "\U0001f3ff"  # skin-tone modifiers
    )
