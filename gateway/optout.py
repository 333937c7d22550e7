"""Opt-out and opt-in keywords (STOP / START) in English, Swahili and French.

Opt-out is always honoured (design), so the STOP list errs on the generous side
and mirrors Twilio's own defaults (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT,
OPTOUT, REVOKE): a worker Twilio has already blocked must not look subscribed to us.
A keyword counts only when it is the whole message (after trimming, case folding,
removing accents and trailing punctuation), so "stop" inside a free-text answer or
"END 3" never opts anyone out. Twilio's opt-in "YES" is left out on purpose: it is
a common task answer, and a YES must not silently re-subscribe a stopped worker.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum


class OptIntent(StrEnum):
    """What a keyword message asks for."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"


# Written without accents: the input is folded the same way before lookup.
STOP_KEYWORDS = frozenset(
    {
        # English (and Twilio's defaults)
        "stop",
        "stopall",
        "unsubscribe",
        "cancel",
        "end",
        "quit",
        "optout",
        "opt out",
        "revoke",
        # Swahili: "acha" (stop / leave off), "sitisha" (halt), "jiondoe" (remove me)
        "acha",
        "sitisha",
        "jiondoe",
        # French: "arrêt", "arrêter", "stopper", "désabonner", "désinscrire"
        "arret",
        "arreter",
        "stopper",
        "desabonner",
        "desabonnement",
        "desinscrire",
    }
)
START_KEYWORDS = frozenset(
    {
        # English (Twilio's START and UNSTOP)
        "start",
        "unstop",
        "subscribe",
        # Swahili: "anza" (start), "rudisha" (bring back)
        "anza",
        "rudisha",
        # French: "démarrer", "commencer", "reprendre" (resume)
        "demarrer",
        "commencer",
        "reprendre",
    }
)

_TRAILING = re.compile(r"[\s.!?,;:]+$")
_SPACES = re.compile(r"\s+")


def normalize_keyword(text: str) -> str:
    """Fold a message for keyword matching: no accents, lower case, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", _TRAILING.sub("", bare.casefold().strip()))


def opt_intent(text: str) -> OptIntent | None:
    """Return the opt-out/opt-in intent when the whole message is such a keyword."""
    key = normalize_keyword(text)
    if key in STOP_KEYWORDS:
        return OptIntent.OPT_OUT
    if key in START_KEYWORDS:
        return OptIntent.OPT_IN
    return None
