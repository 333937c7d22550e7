"""Rendering a USSD answer: ``CON …`` or ``END …``, never longer than a screen.

The 182 rule, decided: the whole body, prefix included, is at most 182 units.
The figure is the GSM USSD payload (160 octets of packed 7-bit = 182 septets); AT's
own limit is unverified (providers.md §1.4) and some networks cut at 160. Counting
the 4-character prefix is the reading that is safe whether or not AT counts it, so
a flow screen gets ``USSD_MAX_TEXT`` = 178 units. Units are those of the SMS rules:
GSM-7 septets (an extension character such as ``{`` or ``€`` costs 2) when the text
is GSM-7, otherwise UTF-16 code units (an emoji costs 2). Non-GSM text travels as
UCS-2 on the air, where networks may allow as few as 80 characters: flows should
keep screens GSM-7 (plain ASCII is safest).
"""

from __future__ import annotations

import unicodedata

from gateway.encoding import char_units, is_gsm7

USSD_MAX_BODY = 182
USSD_PREFIX_LEN = 4  # "CON " / "END "
USSD_MAX_TEXT = USSD_MAX_BODY - USSD_PREFIX_LEN
ELLIPSIS = "..."  # ASCII: "…" is not GSM-7 and would switch the screen to UCS-2

_JOINERS = {"\u200d", "\u200c"}  # zero-width (non-)joiner glue the neighbouring chars


def ussd_length(text: str) -> int:
    """The size of a screen text in the units the 182 rule counts."""
    encoding = "GSM-7" if is_gsm7(text) else "UCS-2"
    return sum(char_units(ch, encoding) for ch in text)


def render_ussd(text: str, continue_session: bool) -> str:
    """The body of a USSD answer: prefix plus text, cut with "..." if it would not fit."""
    prefix = "CON " if continue_session else "END "
    return prefix + fit_ussd_text(text)


def fit_ussd_text(text: str, limit: int = USSD_MAX_TEXT) -> str:
    """Return the text unchanged if it fits ``limit`` units, else cut it cleanly."""
    # \r would show as a stray character on some handsets; menus use \n only.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if ussd_length(text) <= limit:
        return text
    encoding = "GSM-7" if is_gsm7(text) else "UCS-2"
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
