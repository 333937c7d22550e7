"""Invalid input on every USSD screen: a helpful re-prompt in the session's language, never a crash.

Each bad input goes to a fresh worker walked to the screen (three bad inputs in a row
end a session by design). These run on SQLite only, to stay fast; the journeys that
share this code path run on both databases.
"""

from __future__ import annotations

import itertools

import pytest
from flask import Flask

from flows.engine import default_library
from tests.gateway.journeys import PIN, Handset, fund, registered

BAD_INPUTS = ["abc", "99", "", "x" * 200, "*", "#", "😀"]
_phones = itertools.count(1)

#: screen → (language, registered?, keys pressed after the dial to reach it)
SCREENS: dict[str, tuple[str, bool, list[str]]] = {
    "speaks": ("sw", False, ["2"]),
    "terms": ("sw", False, ["2", "1"]),
    "pin": ("fr", False, ["3", "1", "1"]),
    "pin_again": ("en", False, ["1", "1", "1", PIN]),
    "baseline": ("sw", False, ["2", "1", "1", PIN, PIN]),
    "quiz": ("sw", False, ["2", "1", "1", PIN, PIN, "2"]),
    "main_menu": ("fr", True, []),
    "task": ("en", True, ["1"]),
    "earnings": ("sw", True, ["2"]),
    "withdraw_offer": ("fr", True, ["3"]),
    "withdraw_amount": ("en", True, ["3", "2"]),
    "withdraw_pin": ("sw", True, ["3", "1"]),
    "language": ("fr", True, ["4"]),
    "help": ("en", True, ["5"]),
}


def _error_openings(language: str) -> list[str]:
    """The fixed start of every error text in one language (before any placeholder)."""
    catalogs = default_library().catalogs
    keys = ["choice", "zero", "text", "number", "number_any", "pin", "weak_pin", "amount"]
    keys += ["amount_max"]
    return [catalogs.text(f"error.{k}", language, _SAMPLE).split(_CUT)[0] for k in keys]


_CUT = "\x00"
_SAMPLE = {"max": _CUT, "min": _CUT}


def _walk(app: Flask, screen: str) -> tuple[Handset, str, str]:
    language, is_registered, keys = SCREENS[screen]
    phone = f"+2547440{next(_phones):05d}"
    if is_registered:
        worker = registered(app, phone, language)
        if screen.startswith("withdraw"):
            fund(app, worker.id)
    handset = Handset(app, phone)
    body = handset.dial()
    for key in keys:
        body = handset.press(key)
    return handset, body, language


@pytest.mark.parametrize("db_kind", ["sqlite"])
@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_every_bad_input_gets_a_re_prompt_in_the_sessions_language(
    kazi: Flask, screen: str
) -> None:
    for bad in BAD_INPUTS:
        handset, screen_body, language = _walk(kazi, screen)
        assert screen_body.startswith("CON "), (screen, screen_body)
        body = handset.press(bad)
        if bad == "" and not SCREENS[screen][2]:
            # On the first screen an empty reply is AT's text "" again: a retried hop.
            assert body == screen_body
            continue
        assert body.startswith("CON "), (screen, bad, body)
        first_line = body[4:].split("\n")[0]
        assert any(first_line.startswith(o) for o in _error_openings(language)), (bad, body)
        # The same screen follows the explanation (its last line: options or navigation).
        assert body[4:].split("\n")[-1] == screen_body[4:].split("\n")[-1], (bad, body)
