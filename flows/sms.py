"""SMS: keyword recognition and the mapping of one inbound message to start/resume.

STOP/START are honoured by the gateway before it calls flows (opt-out must work even
if a flow is broken); they are recognised here so both sides agree on the words.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flows.definitions import Library
from flows.engine import (
    Context,
    SprintResult,
    awaits_secret,
    default_library,
    resume,
    resume_point,
    start,
)
from flows.i18n import LANGUAGES, parse_amount
from flows.inputs import MASK, is_pin

# Keyword -> the words workers send for it (English, Swahili, French; accents dropped).
KEYWORDS: dict[str, tuple[str, ...]] = {
    "task": ("TASK", "KAZI", "MISSION"),
    "balance": ("BAL", "BALANCE", "SALIO", "SOLDE"),
    "pay": ("PAY", "WITHDRAW", "TOA", "RETRAIT"),
    "lang": ("LANG", "LANGUAGE", "LUGHA", "LANGUE"),
    "help": ("HELP", "MSAADA", "AIDE"),
    "stop": ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "ACHA", "ARRET"),
    "start": ("START", "UNSTOP", "ANZA"),
    "mydata": ("MYDATA", "TAARIFA", "MESDONNEES"),
    "record": ("RECORD", "REKODI", "PARCOURS"),
    "delete": ("DELETE", "FUTA", "SUPPRIMER"),
}
_LOOKUP = {word: name for name, words in KEYWORDS.items() for word in words}
# Keywords that take arguments; the others must arrive alone, so an answer is not eaten.
_WITH_ARGS = {"pay", "delete"}
# Keywords whose arguments carry the worker's PIN: never stored in clear.
_WITH_PIN = {"pay", "delete"}


@dataclass(frozen=True)
class SmsKeyword:
    """A recognised keyword (``task``, ``balance``, ``pay``, ``lang``, ``help``, ``stop``,
    ``start``, ``mydata``, ``record``, ``delete``) and the words after it."""

    name: str
    args: tuple[str, ...] = ()


def _normalise(text: str) -> list[str]:
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return plain.strip().strip(".!").upper().split()


def parse_sms_keyword(text: str) -> SmsKeyword | None:
    """The keyword an SMS starts with, or None when it is an answer or chatter."""
    words = _normalise(text)
    if not words or words[0] not in _LOOKUP:
        return None
    name = _LOOKUP[words[0]]
    if len(words) > 1 and name not in _WITH_ARGS:
        return None
    return SmsKeyword(name, tuple(words[1:]))


def mask_sms(text: str, state: Mapping[str, Any] | None, *, library: Library | None = None) -> str:
    """The SMS as it may be stored or shown: its PIN masked, everything else as sent.

    ``PAY <amount> <PIN>`` keeps the amount; a PAY message that does not parse keeps
    only its keyword (a PIN may be in any word of it); ``DELETE <PIN>`` keeps only its
    keyword; a message answering a screen marked secret (``state`` waits on a PIN
    input) is masked whole.
    """
    keyword = parse_sms_keyword(text)
    if keyword is None:
        return MASK if awaits_secret(state, library=library) else text
    if keyword.name not in _WITH_PIN or not keyword.args:
        return text
    words = text.split()
    # The keyword and amount of a well-formed PAY; otherwise the keyword alone.
    kept = 2 if keyword.name == "pay" and len(keyword.args) == 2 else 1
    return " ".join(words[:kept] + [MASK] * (len(words) - kept))


def _notice(key: str, context: Context, lib: Library) -> SprintResult:
    lang = context.language if context.language in LANGUAGES else "en"
    text = lib.catalogs.text(key, lang, {"ussd_code": context.ussd_code})
    return SprintResult(text, False, [], {"v": 1, "awaiting": None}, None)


def handle_sms(
    text: str,
    state: Mapping[str, Any] | None,
    context: Context,
    *,
    library: Library | None = None,
) -> SprintResult:
    """Run one inbound SMS: a keyword starts its journey, anything else answers the screen."""
    lib = library or default_library()
    keyword = parse_sms_keyword(text)
    if keyword is None:
        if state is not None and state.get("awaiting") == "input":
            return resume(state, user_input=text, context=context, library=lib)
        return start("main", context, library=lib)
    if keyword.name in ("stop", "start"):
        return _notice(f"sms.{keyword.name}", context, lib)
    if keyword.name == "help":
        return start("help", context, library=lib)
    # Data rights hold for anyone Kazi knows, registered or not (Kenya DPA 2019, s. 26).
    if keyword.name == "mydata":
        return start("mydata", context, library=lib)
    if keyword.name == "delete":
        return _forget(keyword.args, context, lib)
    if not (context.registered and context.qualified):
        return start("main", context, library=lib)
    if keyword.name == "task":
        point = resume_point(state) if state else None
        return start("task", context, resume_point=point, library=lib)
    if keyword.name == "pay" and keyword.args:
        return _pay(keyword.args, context, lib)
    flow = {"balance": "earnings", "pay": "withdraw", "lang": "language", "record": "record"}[
        keyword.name
    ]
    return start(flow, context, library=lib)


def _pay(args: tuple[str, ...], context: Context, lib: Library) -> SprintResult:
    amount = parse_amount(args[0], context.currency) if len(args) == 2 else None
    if not amount or not is_pin(args[1]):
        return _notice("withdraw.sms_usage", context, lib)
    money = {"amount": amount, "currency": context.currency}
    return start("sms_pay", context, params={"amount": money, "pin": args[1]}, library=lib)


def _forget(args: tuple[str, ...], context: Context, lib: Library) -> SprintResult:
    if len(args) != 1 or not is_pin(args[0]):
        return _notice("privacy.delete_usage", context, lib)
    return start("forget", context, params={"pin": args[0]}, library=lib)
