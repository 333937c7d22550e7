"""How the console shows values to people: masked phone numbers, money, times."""

from __future__ import annotations

#: Digits left visible at each end of a masked number: the country and network prefix
#: and the last three digits, enough to tell numbers apart on a screen, not to dial them.
VISIBLE_HEAD = 5
VISIBLE_TAIL = 3


def mask_phone(number: str | None) -> str:
    """``+254712345001`` → ``+2547•••••001``; short or empty values are hidden entirely."""
    if not number:
        return ""
    if len(number) <= VISIBLE_HEAD + VISIBLE_TAIL:
        return "•" * len(number)
    hidden = len(number) - VISIBLE_HEAD - VISIBLE_TAIL
    return number[:VISIBLE_HEAD] + "•" * hidden + number[-VISIBLE_TAIL:]
