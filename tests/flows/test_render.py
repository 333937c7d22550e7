"""Formatting and cutting: money, amounts, SMS segments, USSD pages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.medium import is_gsm7, sms_segments
from flows.i18n import format_money, format_value, parse_amount
from flows.render import USSD_LIMIT, Screen, paginate, render_sms


@pytest.mark.parametrize(
    ("amount", "currency", "lang", "expected"),
    [
        (150, "KES", "en", "KES 1.50"),
        (150, "KES", "sw", "KES 1.50"),
        (150, "KES", "fr", "1,50 KES"),
        (123456789, "KES", "en", "KES 1,234,567.89"),
        (123456789, "KES", "fr", "1 234 567,89 KES"),
        (0, "KES", "en", "KES 0.00"),
        (-250, "KES", "en", "KES -2.50"),
        (5000, "UGX", "en", "UGX 5,000"),
        (5000, "UGX", "fr", "5 000 UGX"),  # a currency without minor units, French style
    ],
)
def test_format_money(amount: int, currency: str, lang: str, expected: str) -> None:
    assert format_money({"amount": amount, "currency": currency}, lang) == expected


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("150", "KES", 15000),
        ("12.5", "KES", 1250),
        ("12,50", "KES", 1250),
        (" 7 ", "KES", 700),
        ("1.234", "KES", None),
        ("abc", "KES", None),
        ("-5", "KES", None),
        ("", "KES", None),
        ("1e3", "KES", None),
        ("\u0661\u0662", "KES", None),
        ("500", "UGX", 500),
        ("500.5", "UGX", None),
    ],
)
def test_parse_amount(text: str, currency: str, expected: int | None) -> None:
    assert parse_amount(text, currency) == expected


@pytest.mark.parametrize(
    ("value", "lang", "expected"),
    [(None, "en", "-"), (0.875, "en", "88%"), (0.875, "fr", "88 %"), (12, "sw", "12")],
)
def test_format_value(value: object, lang: str, expected: str) -> None:
    assert format_value(value, lang) == expected


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("é" * 160, 1),  # é is GSM-7
        ("€" * 80, 1),  # extension characters count twice
        ("€" * 81, 2),
        ("ç" * 70, 1),  # lowercase ç forces UCS-2
        ("ç" * 71, 2),
    ],
)
def test_sms_segments(text: str, segments: int) -> None:
    assert sms_segments(text) == segments


def test_gsm7_table_knows_french_accents() -> None:
    assert is_gsm7("Désolé, déjà où à è É Ç")
    assert not any(is_gsm7(c) for c in "êâîôûçëœ")


def test_a_short_screen_is_one_page() -> None:
    screen = Screen("Hello", ["1 A", "2 B"], ["0 Back"])
    assert paginate(screen, "98 More", "99 Back") == ["Hello\n1 A\n2 B\n0 Back"]


@given(
    body=st.text(alphabet="abc xyz.", max_size=900),
    options=st.lists(st.text(alphabet="ABCD ", min_size=1, max_size=60), max_size=12),
)
def test_pages_fit_and_lose_nothing(body: str, options: list[str]) -> None:
    screen = Screen(body, options, ["0 Skip 00 Menu"])
    pages = paginate(screen, "98 More", "99 Back")
    assert all(len(p) <= USSD_LIMIT for p in pages)
    assert all(p.endswith("98 More") for p in pages[:-1])
    assert not pages[-1].endswith("98 More")
    assert all("99 Back" in p for p in pages[1:]) and "99 Back" not in pages[0]
    # Every character of the content survives somewhere, in order, bar whitespace.
    content = "".join((body + "".join(options)).split())
    shown = "".join(
        "".join(
            p.replace("0 Skip 00 Menu", "").replace("98 More", "").replace("99 Back", "").split()
        )
        for p in pages
    )
    assert shown == content


def test_render_sms_shortens_the_body_not_the_options() -> None:
    text = render_sms(Screen("x " * 400, ["1 Yes", "2 No"], ["0 Skip"]))
    assert sms_segments(text) <= 3 and text.endswith("...\n1 Yes\n2 No\n0 Skip")


def test_intents_round_trip_through_json() -> None:
    import json

    from flows.intents import INTENTS, RequestPayout, intent_from_dict

    payout = RequestPayout(amount={"amount": 1250, "currency": "KES"})
    assert intent_from_dict(json.loads(json.dumps(payout.to_dict()))) == payout
    for cls in INTENTS.values():
        assert intent_from_dict(cls().to_dict()) == cls()


def test_requester_quotes_do_not_turn_a_screen_ucs2() -> None:
    screen = Screen(
        "Is this review \u201cpositive\u201d? \u2018Great shop\u2019 \u2026",
        ["1. Yes \u2013 positive", "2. No"],
    )
    (page,) = paginate(screen, "98 More", "99 Back")
    assert is_gsm7(page) and '"positive"' in page and "..." in page
    assert is_gsm7(render_sms(screen))


def test_options_never_open_a_page_without_their_question() -> None:
    # The body fits page one alone, but not with its options: the question moves with them.
    body = "Read the review and tell us how the customer felt.\n" + "Q: " + "word " * 12
    options = [f"{i} Option number {i}" for i in range(1, 5)]
    pages = paginate(Screen(body.strip(), options, ["0 Skip 00 Menu"]), "98 More", "99 Back")
    assert len(pages) == 2 and all(len(p) <= USSD_LIMIT for p in pages)
    assert "1 Option" not in pages[0]
    assert pages[1].startswith("Q: word") and all(o in pages[1] for o in options)


def test_a_long_question_line_keeps_its_end_with_the_options() -> None:
    body = "Q: " + " ".join(f"w{i}" for i in range(40))
    options = [f"{i} Option number {i}" for i in range(1, 5)]
    pages = paginate(Screen(body, options, ["0 Skip 00 Menu"]), "98 More", "99 Back")
    assert "1 Option" not in pages[0]
    assert pages[-1].split("\n")[0].endswith("w39") and all(o in pages[-1] for o in options)
