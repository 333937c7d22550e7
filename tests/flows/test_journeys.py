"""Every worker journey end to end over USSD, hop by hop, in all three languages."""

from __future__ import annotations

import pytest

from flows import GetTask, RequestPayout, SendSms, SetLanguage, SubmitAnswer
from flows.engine import default_library
from tests.flows.world import Phone, World, kes, registered_world

LANGS = ["en", "sw", "fr"]
# Literal anchors, so a catalog that is silently English in sw/fr fails here.
MENU_TASK = {"en": "1 Get task", "sw": "1 Pata kazi", "fr": "1 Nouvelle mission"}
LANG_PICK = {"en": "1", "sw": "2", "fr": "3"}


def t(key: str, lang: str, **values: object) -> str:
    ctx = {"ussd_code": "*384*12#", "terms_url": "kazi.work/terms", "service": "M-Pesa"}
    return default_library().catalogs.text(key, lang, {**ctx, **values})


@pytest.mark.parametrize("lang", LANGS)
def test_registration_then_quiz_then_menu(lang: str) -> None:
    world = World(language="en")
    phone = Phone(world)
    assert "1 English\n2 Kiswahili\n3 Francais" in phone.dial()
    screen = phone.send(LANG_PICK[lang])
    assert screen.startswith(t("reg.speaks", lang)) and f"1 {t('lang.only', lang)}" in screen
    assert world.language == lang
    screen = phone.send("5")  # all three languages
    assert world.task_languages == "all"
    # The key terms on the screen itself, no URL a feature phone cannot open.
    assert t("reg.terms", lang) in screen and "kazi.work/terms" not in screen
    screen = phone.send("3")  # the terms by SMS, and the same screen again
    assert world.terms_sent == 1
    assert screen.startswith(t("reg.terms_sent", lang) + "\n" + t("reg.terms", lang))
    assert phone.send("1").startswith(t("reg.pin", lang))
    assert world.consent is True
    assert t("error.weak_pin", lang) in phone.send("1111")
    assert phone.send("4821") == t("reg.pin_again", lang)
    assert t("reg.pin_mismatch", lang) in phone.send("4822")
    phone.send("4821")
    screen = phone.send("4821")
    assert world.pin == "4821" and world.registered
    assert "4821" not in str(phone.state)
    assert t("reg.pin_saved", lang) in screen and "Is Nairobi in Kenya?" in screen
    assert f"1 {t('task.yes', lang)}" in screen and "0 " not in screen  # no skip in the quiz
    assert "How many legs" in phone.send("1")
    screen = phone.send("4")
    assert t("quiz.passed", lang) in screen and MENU_TASK[lang] in screen
    assert world.qualified and world.answers == [(1, "yes"), (2, "4")]
    assert world.sms_out == [t("quiz.welcome_sms", lang)]


def test_declining_the_terms_ends_politely() -> None:
    world = World()
    phone = Phone(world)
    phone.dial()
    phone.send("2")
    phone.send("1")
    assert phone.send("2") == t("reg.declined", "sw")
    assert phone.ended and world.consent is False and not world.registered


def test_failing_the_quiz_ends_with_a_kind_screen() -> None:
    world = World(registered=True, pin="4821")
    phone = Phone(world)
    assert "Is Nairobi" in phone.dial()
    phone.send("2")
    assert phone.send("7") == t("quiz.failed", "en")
    assert phone.ended and not world.qualified


@pytest.mark.parametrize("lang", LANGS)
def test_get_task_answer_skip_and_none_left(lang: str) -> None:
    world = registered_world(language=lang)
    phone = Phone(world)
    assert MENU_TASK[lang] in phone.dial()
    screen = phone.send("1")
    assert "Is review 0 positive?" in screen and "1 Positive\n2 Negative\n3 Neutral" in screen
    assert t("nav.skip_menu", lang) in screen
    screen = phone.send("2")
    assert t("task.saved", lang, reward=kes(150)) in screen and "review 1" in screen
    assert world.answers == [(100, "Negative")] and world.balance == 150
    screen = phone.send("0")
    assert t("task.skipped", lang) in screen and "review 2" in screen
    assert world.skipped == [101]
    screen = phone.send("1")
    assert t("task.none", lang) in screen and t("nav.back", lang) in screen
    assert MENU_TASK[lang] in phone.send("0")
    submits = [i for i in world.log if isinstance(i, SubmitAnswer)]
    assert [(s.task_id, s.choice, s.channel) for s in submits] == [
        (100, 2, "ussd"),
        (102, 1, "ussd"),
    ]


def test_00_on_a_task_goes_to_the_menu() -> None:
    phone = Phone(registered_world())
    phone.dial()
    phone.send("1")
    assert MENU_TASK["en"] in phone.send("00")


def test_long_task_pages_with_more_and_back() -> None:
    long_text = " ".join(f"word{i}" for i in range(80))
    task = {"task_id": 7, "text": long_text, "task_type": "yes_no", "options": []}
    world = registered_world(language="sw", tasks=[task])
    phone = Phone(world)
    phone.dial()
    first = phone.send("1")
    assert first.endswith("98 Zaidi") and "word0 " in first and "1 Ndiyo" not in first
    second = phone.send("98")
    assert "99 Rudi" in second and second != first
    pages = [first, second]
    while "98 Zaidi" in pages[-1]:
        pages.append(phone.send("98"))
    assert "1 Ndiyo\n2 Hapana" in pages[-1]
    words = " ".join(pages).split()
    assert all(f"word{i}" in words for i in range(80)), "paging loses no text"
    assert phone.send("99") == pages[-2]
    phone.send("2")  # an answer is valid from any page
    assert world.answers == [(7, "no")]


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "Balance: KES 12.50\nTasks today: 0, KES 0.00\nPer hour: KES 120.00\nAccuracy: 90%"),
        ("sw", "Salio: KES 12.50\nLeo: kazi 0, KES 0.00\nKwa saa: KES 120.00\nUsahihi: 90%"),
        (
            "fr",
            "Solde: 12,50 KES\nMissions aujourd'hui: 0, 0,00 KES\nPar heure: 120,00 KES\n"
            "Précision: 90 %",
        ),
    ],
)
def test_earnings_are_formatted_per_language(lang: str, expected: str) -> None:
    phone = Phone(registered_world(language=lang, balance=1250))
    phone.dial()
    screen = phone.send("2")
    assert screen.startswith(expected)
    assert MENU_TASK[lang] in phone.send("0")


@pytest.mark.parametrize("lang", LANGS)
def test_withdraw_everything_with_pin(lang: str) -> None:
    world = registered_world(language=lang, balance=2500)
    phone = Phone(world)
    phone.dial()
    screen = phone.send("3")
    assert t("withdraw.offer", lang, balance=kes(2500)) in screen
    assert phone.send("1") == t("withdraw.pin", lang, amount=kes(2500)) + "\n" + t("nav.back", lang)
    screen = phone.send("4821")
    assert screen == t("withdraw.done", lang, amount=kes(2500)) and phone.ended
    assert world.payouts == [2500] and world.balance == 0


def test_withdraw_other_amount_checks_the_balance() -> None:
    world = registered_world(balance=2500)
    phone = Phone(world)
    phone.dial()
    phone.send("3")
    assert phone.send("2").startswith("Amount to withdraw (up to KES 25.00):")
    assert t("error.amount_max", "en", max=kes(2500)) in phone.send("30")
    assert t("error.amount", "en") in phone.send("0.001")
    phone.send("12.5")
    phone.send("4821")
    assert [i.amount for i in world.log if isinstance(i, RequestPayout)] == [kes(1250)]


def test_withdraw_below_minimum_names_the_minimum() -> None:
    world = registered_world(balance=2500)
    phone = Phone(world)
    phone.dial()
    phone.send("3")
    phone.send("2")
    phone.send("5")
    assert phone.send("4821") == "The minimum withdrawal is KES 10.00."


def test_three_wrong_pins_lock_withdrawals() -> None:
    world = registered_world(language="fr", balance=2500)
    phone = Phone(world)
    phone.dial()
    phone.send("3")
    phone.send("1")
    assert phone.send("1111").startswith("PIN incorrect. Essais restants: 2.")
    assert phone.send("2222").startswith("PIN incorrect. Essais restants: 1.")
    assert phone.send("3333") == t("withdraw.locked", "fr") and phone.ended
    assert world.payouts == []


def test_empty_balance_offers_no_withdrawal() -> None:
    phone = Phone(registered_world())
    phone.dial()
    assert phone.send("3").startswith(t("withdraw.empty", "en", balance=kes(0)))


def test_language_change_speaks_the_new_language_at_once() -> None:
    world = registered_world()
    phone = Phone(world)
    phone.dial()
    phone.send("4")
    screen = phone.send("2")
    assert screen.startswith("Lugha imehifadhiwa.") and MENU_TASK["sw"] in screen
    assert [i for i in world.log if isinstance(i, SetLanguage)] == [SetLanguage("sw")]


def test_help_sends_the_sms_commands_along() -> None:
    world = registered_world(language="sw")
    phone = Phone(world)
    phone.dial()
    assert phone.send("5").startswith(t("help.ussd", "sw"))
    # The SMS rides along with the screen; the host sends it after the reply.
    assert phone.result.intents == [SendSms(text=t("help.sms", "sw"))]
    assert phone.result.waiting_for == "input" and world.sms_out == [t("help.sms", "sw")]


def test_get_task_uses_the_ussd_channel_and_no_task_id() -> None:
    world = registered_world()
    phone = Phone(world)
    phone.dial()
    phone.send("1")
    assert [i for i in world.log if isinstance(i, GetTask)][0] == GetTask(channel="ussd")
