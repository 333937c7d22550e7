"""Invalid input on every input screen gets a re-prompt in the session's language."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from flows.engine import MAX_RETRIES, default_library
from tests.flows.world import Phone, World, kes, registered_world

LANGS = ["en", "sw", "fr"]
PICK = {"en": "1", "sw": "2", "fr": "3"}  # the language menu's numbers
COMMON_BAD = ["", " ", "*", "#", "\U0001f600", "x" * 300, "1*2", "\u0661"]  # last: Arabic 1


def _at(world: World, *inputs: str) -> Phone:
    phone = Phone(world)
    phone.dial()
    for text in inputs:
        phone.send(text)
    return phone


def _task(kind: str) -> Callable[[str], Phone]:
    task = {"task_id": 5, "text": "Question?", "task_type": kind, "options": []}
    if kind == "single_choice":
        task["options"] = ["A", "B", "C"]
    return lambda lang: _at(registered_world(language=lang, tasks=[task]), "1")


# screen name -> (how to get there, extra bad inputs, expected error key and values)
SCREENS: dict[str, tuple[Callable[[str], Phone], list[str], str, dict]] = {
    "language": (
        lambda lang: _at(World(language=lang)),
        ["4", "abc", "-1", "1.5"],
        "error.choice",
        {"max": 3},
    ),
    "speaks": (lambda lang: _at(World(), PICK[lang]), ["6", "abc"], "error.choice", {"max": 5}),
    "terms": (lambda lang: _at(World(), PICK[lang], "1"), ["4", "abc"], "error.choice", {"max": 3}),
    "new_pin": (
        lambda lang: _at(World(), PICK[lang], "1", "1"),
        ["abc", "123", "12345", "12a4"],
        "error.pin",
        {},
    ),
    "confirm_pin": (
        lambda lang: _at(World(), PICK[lang], "1", "1", "4821"),
        ["abc", "123"],
        "error.pin",
        {},
    ),
    "quiz": (
        lambda lang: _at(World(language=lang, registered=True, pin="4821")),
        ["0", "3"],
        "error.choice",
        {"max": 2},
    ),
    "menu": (
        lambda lang: _at(registered_world(language=lang)),
        ["6", "0", "abc"],
        "error.choice",
        {"max": 5},
    ),
    "task_choice": (_task("single_choice"), ["4", "abc", "1 2"], "error.choice", {"max": 3}),
    "task_number": (_task("number"), ["abc", "1..2", "4a", "--1"], "error.number_any", {}),
    "task_text": (_task("free_text"), [], "error.text", {}),
    "offer": (
        lambda lang: _at(registered_world(language=lang, balance=2500), "3"),
        ["3", "abc"],
        "error.choice",
        {"max": 2},
    ),
    "amount": (
        lambda lang: _at(registered_world(language=lang, balance=2500), "3", "2"),
        ["abc", "-5", "00", "1.234", "1,2,3"],
        "error.amount",
        {},
    ),
    "withdraw_pin": (
        lambda lang: _at(registered_world(language=lang, balance=2500), "3", "1"),
        ["abc", "123", "48210"],
        "error.pin",
        {},
    ),
}
# Inputs that are legitimately valid on a screen (a free-text answer may be "1").
VALID_THERE = {("task_number", "\u0661"), ("task_text", "\u0661")}
CASES = [
    (screen, bad, lang)
    for screen, (_, extra, _, _) in SCREENS.items()
    for bad in COMMON_BAD + extra
    if (screen, bad) not in VALID_THERE
    for lang in LANGS
]


@pytest.mark.parametrize(("screen", "bad", "lang"), CASES)
def test_invalid_input_reprompts_in_language(screen: str, bad: str, lang: str) -> None:
    reach, _, key, values = SCREENS[screen]
    phone = reach(lang)
    before = phone.screens[-1]
    reply = phone.send(bad)
    expected = default_library().catalogs.text(key, lang, values)
    assert reply.startswith(expected + "\n"), (screen, bad, reply)
    assert phone.result.waiting_for == "input" and phone.state["retries"] == 1
    # The re-prompt repeats the question itself (its first page).
    assert before.split("\n")[-1] in reply or before.split("\n")[0] in reply


def test_amount_over_balance_names_the_balance() -> None:
    phone = _at(registered_world(language="fr", balance=2500), "3", "2")
    assert phone.send("30").startswith("Vous pouvez retirer jusqu'à 25,00 KES.")


@pytest.mark.parametrize("lang", LANGS)
def test_too_many_invalid_inputs_end_the_session(lang: str) -> None:
    phone = _at(registered_world(language=lang))
    for _ in range(MAX_RETRIES - 1):
        phone.send("x")
        assert not phone.ended
    reply = phone.send("x")
    assert phone.ended
    assert reply == default_library().catalogs.text(
        "error.too_many_tries", lang, {"ussd_code": "*384*12#"}
    )


def test_a_valid_input_resets_the_retry_count() -> None:
    phone = _at(registered_world(balance=2500))
    phone.send("x")
    phone.send("3")
    assert phone.state["retries"] == 0
    assert phone.send("9").startswith("Please reply with a number from 1 to 2.")
    assert phone.state["retries"] == 1


def test_the_pin_is_never_echoed_or_stored() -> None:
    world = registered_world(balance=2500)
    phone = _at(world, "3", "1")
    reply = phone.send("9999")
    assert "9999" not in reply and "9999" not in str(phone.state)
    assert "9999" not in repr(world.log[-1]) and world.pin_failures == 1


def test_money_in_values_is_formatted() -> None:
    text = default_library().catalogs.text("task.saved", "fr", {"reward": kes(123456)})
    assert text == "Enregistré! +1 234,56 KES"
