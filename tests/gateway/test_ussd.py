from __future__ import annotations

import pytest

from core.medium import USSD_MAX_BODY, USSD_MAX_TEXT, fit_ussd_text, ussd_length
from gateway.ussd import render_ussd


def test_prefixes() -> None:
    assert render_ussd("Karibu Kazi\n1. Task", True) == "CON Karibu Kazi\n1. Task"
    assert render_ussd("Asante!", False) == "END Asante!"
    assert render_ussd("", False) == "END "


def test_text_that_fits_is_unchanged_up_to_the_limit() -> None:
    text = "a" * USSD_MAX_TEXT
    assert render_ussd(text, True) == "CON " + text
    assert len(render_ussd(text, True)) == USSD_MAX_BODY == 182


@pytest.mark.parametrize(
    "text",
    [
        "a" * 183,
        "a" * 179,
        "Swali: " + "ndiyo au hapana? " * 20,
        "{" * 100,  # extension characters cost two septets each
        "€uro " * 50,
        "😀" * 100,  # two UTF-16 units each
        "a" * 176 + "😀😀",
        "e\u0301" * 120,  # e + combining acute: never cut between them
        "👍🏽" * 60,  # emoji + skin tone
        "👨\u200d👩\u200d👧" * 30,  # ZWJ family sequence
        "1. Yes\r\n2. No\r\n" * 30,
    ],
)
def test_long_text_is_cut_to_fit_cleanly(text: str) -> None:
    body = render_ussd(text, True)
    assert body.startswith("CON ")
    assert ussd_length(body) <= USSD_MAX_BODY
    assert body.endswith("...")
    body.encode("utf-8")  # no lone surrogates
    kept = body[4:-3]
    normalised = text.replace("\r\n", "\n")
    assert normalised.startswith(kept)
    # The cut falls on a boundary: what follows does not attach to what was kept.
    assert normalised[len(kept)] not in {"\u200d", "\u0301", "\U0001f3fd"}
    assert not kept.endswith("\u200d")


def test_extension_characters_count_twice() -> None:
    assert ussd_length("{}") == 4
    assert ussd_length("ab") == 2
    assert ussd_length("😀a") == 3
    assert fit_ussd_text("{" * 89) == "{" * 89  # 178 septets fits
    assert fit_ussd_text("{" * 90).endswith("...")


def test_crlf_becomes_lf() -> None:
    assert render_ussd("1. A\r\n2. B\r3. C", True) == "CON 1. A\n2. B\n3. C"
