"""How the console shows values to people: masked phone numbers, money, times."""

from __future__ import annotations

#: Digits left visible at each end of a masked number: the country and network prefix
#: and the last three digits, enough to tell numbers apart on a screen, not to dial them.
VISIBLE_HEAD = 5
VISIBLE_TAIL = 3
#: Shorter numbers keep only their tail visible, so most of the number stays hidden.
MIN_LENGTH_FOR_HEAD = 12


def mask_phone(number: str | None) -> str:
    """``+254712345001`` → ``+2547•••••001``; a short number shows only its last digits."""
    if not number:
        return ""
    if len(number) <= 2 * VISIBLE_TAIL:
        return "•" * len(number)
    head = VISIBLE_HEAD if len(number) >= MIN_LENGTH_FOR_HEAD else 0
    hidden = len(number) - head - VISIBLE_TAIL
    return number[:head] + "•" * hidden + number[-VISIBLE_TAIL:]
