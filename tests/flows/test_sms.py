"""SMS: keywords, and the journeys message by message."""

from __future__ import annotations

import pytest

from core.medium import sms_segments
from flows import SmsKeyword, VerifyPin, parse_sms_keyword
from flows.engine import default_library
from tests.flows.world import Phone, World, registered_world


def t(key: str, lang: str, **values: object) -> str:
    return default_library().catalogs.text(key, lang, {"ussd_code": "*384*12#", **values})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TASK", SmsKeyword("task")),
        (" task ", SmsKeyword("task")),
        ("Kazi", SmsKeyword("task")),
        ("bal", SmsKeyword("balance")),
        ("Salio", SmsKeyword("balance")),
        ("solde!", SmsKeyword("balance")),
        ("PAY 100 1234", SmsKeyword("pay", ("100", "1234"))),
        ("pay", SmsKeyword("pay")),
        ("Lugha", SmsKeyword("lang")),
        ("HELP", SmsKeyword("help")),
        ("aide", SmsKeyword("help")),
        ("STOP", SmsKeyword("stop")),
        ("Arrêt", SmsKeyword("stop")),
        ("acha", SmsKeyword("stop")),
        ("START", SmsKeyword("start")),
        ("1", None),
        ("", None),
        ("task is hard", None),  # an answer that happens to start with a keyword
        ("Positive", None),
        ("STOPPING", None),
    ],
)
def test_parse_sms_keyword(text: str, expected: SmsKeyword | None) -> None:
    assert parse_sms_keyword(text) == expected


def _sms(world: World) -> Phone:
    return Phone(world, channel="sms")


@pytest.mark.parametrize("lang", ["en", "sw", "fr"])
def test_task_then_answer_by_reply(lang: str) -> None:
    world = registered_world(language=lang)
    phone = _sms(world)
    reply = phone.send("TASK")
    assert "Is review 0 positive?" in reply and "1 Positive" in reply
    reply = phone.send("3")
    assert reply.startswith(t("task.saved", lang, reward={"amount": 150, "currency": "KES"}))
    assert "review 1" in reply and world.answers == [(100, "Neutral")]
    assert all(sms_segments(s) == 1 for s in phone.screens)


def test_task_keyword_with_a_task_in_hand_shows_the_same_task() -> None:
    world = registered_world()
    phone = _sms(world)
    phone.send("TASK")
    assert "review 0" in phone.send("TASK")
    assert world.skipped == [] and len(world.tasks) == 2


def test_bal_shows_earnings() -> None:
    phone = _sms(registered_world(language="sw", balance=1250))
    assert phone.send("BAL").startswith("Salio: KES 12.50")


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("PAY 20 4821", "en", "KES 20.00 is on its way to M-Pesa. An SMS will confirm."),
        ("pay 12,50 4821", "fr", "12,50 KES part vers M-Pesa. Un SMS confirmera."),
        ("PAY 5 4821", "sw", "Kiasi cha chini cha kutoa ni KES 10.00."),
        ("PAY 99 4821", "en", "Your balance is too low for that amount."),
        ("PAY 20 1111", "en", "Wrong PIN. Tries left: 2."),
        ("PAY twenty 4821", "en", "To withdraw send PAY <amount> <PIN>, e.g. PAY 100 1234."),
        ("PAY 20", "sw", "Kutoa pesa tuma PAY <kiasi> <PIN>, mfano PAY 100 1234."),
        ("PAY 20 48", "fr", "Pour retirer, envoyez PAY <montant> <PIN>, ex. PAY 100 1234."),
    ],
)
def test_pay_amount_pin(text: str, lang: str, expected: str) -> None:
    world = registered_world(language=lang, balance=2500)
    phone = _sms(world)
    assert phone.send(text) == expected and phone.ended
    assert "4821" not in str(phone.state)


def test_pay_sends_the_pin_only_in_the_intent() -> None:
    world = registered_world(balance=2500)
    _sms(world).send("PAY 20 4821")
    assert world.log[0] == VerifyPin(pin="4821") and world.payouts == [2000]


def test_pay_alone_walks_the_withdraw_menu() -> None:
    world = registered_world(balance=2500)
    phone = _sms(world)
    assert "1 All KES 25.00" in phone.send("PAY")
    phone.send("1")
    phone.send("4821")
    assert world.payouts == [2500]


def test_lang_then_a_digit_changes_language() -> None:
    world = registered_world()
    phone = _sms(world)
    phone.send("LANG")
    assert phone.send("3").startswith("Langue enregistrée.") and world.language == "fr"


def test_help_over_sms_is_the_command_list_without_a_second_sms() -> None:
    phone = _sms(registered_world(language="sw"))
    assert phone.send("HELP") == t("help.sms", "sw") and phone.result.intents == []


@pytest.mark.parametrize(("word", "key"), [("STOP", "sms.stop"), ("START", "sms.start")])
def test_stop_and_start_answer_in_language(word: str, key: str) -> None:
    phone = _sms(registered_world(language="fr"))
    assert phone.send(word) == t(key, "fr") and phone.ended


def test_an_unregistered_worker_registers_by_sms() -> None:
    world = World()
    phone = _sms(world)
    assert "1 English" in phone.send("TASK")
    phone.send("2")
    phone.send("1")  # tasks in Kiswahili only
    phone.send("1")
    phone.send("4821")
    reply = phone.send("4821")
    assert world.registered and "Is Nairobi" in reply


def test_chatter_without_a_session_shows_the_menu() -> None:
    phone = _sms(registered_world(language="sw"))
    assert phone.send("habari").startswith("Kazi: kazi fupi za malipo")


def test_every_sms_reply_fits_three_segments_even_for_long_tasks() -> None:
    task = {
        "task_id": 9,
        "text": "word " * 200,
        "task_type": "single_choice",
        "options": ["Option number one", "Option number two"],
    }
    phone = _sms(registered_world(tasks=[task]))
    reply = phone.send("TASK")
    assert sms_segments(reply) <= 3 and "1 Option number one" in reply and "..." in reply
