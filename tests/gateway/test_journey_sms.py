"""The SMS journeys through the real AT SMS webhook: keywords, answers, PAY, LANG, STOP/START."""

from __future__ import annotations

from flask import Flask

from gateway.simulated_phone import SimulatedPhone
from payouts.models import PayoutStatus
from payouts.receipts import receipt_text
from tests.gateway.journeys import (
    PIN,
    REWARD,
    REWARD_MONEY,
    TASKS,
    kes,
    payouts_of,
    registered,
    t,
    worker_row,
)
from tests.payouts.factories import wait_until

CODE = {"ussd_code": "*384*12#"}


def test_a_worker_works_and_withdraws_by_sms_keywords(kazi: Flask) -> None:
    registered(kazi, "+254733000001", "sw")
    phone = SimulatedPhone(kazi, "+254733000001")
    [reply] = phone.sms("KAZI")
    assert TASKS[0] in reply and t("nav.skip_menu", "sw") in reply
    [reply] = phone.sms("2")
    assert reply.startswith(t("task.saved", "sw", reward=REWARD_MONEY)) and TASKS[1] in reply
    [reply] = phone.sms("0")  # skip: the next task at once
    assert reply.startswith(t("task.skipped", "sw")) and TASKS[2] in reply
    [reply] = phone.sms("BAL")
    assert kes(REWARD.amount, "sw") in reply
    replies = phone.sms(f"PAY 10 {PIN}")
    wait_until(lambda: payouts_of(kazi, phone.phone)[0].status is PayoutStatus.SETTLED)
    replies += phone.replies()  # the receipt, once the (instant) sandbox has paid
    [payout] = payouts_of(kazi, phone.phone)
    assert payout.amount_minor == 1_000
    money = {"amount": 1_000, "currency": "KES"}
    assert replies == [t("withdraw.done", "sw", amount=money), receipt_text(payout, "sw")]


def test_wrong_pins_by_sms_lock_withdrawals(kazi: Flask) -> None:
    registered(kazi, "+254733000002")
    phone = SimulatedPhone(kazi, "+254733000002")
    assert phone.sms("PAY 10 1111") == [t("withdraw.wrong_pin", "en", attempts_left=2)]
    assert phone.sms("PAY 10 1111") == [t("withdraw.wrong_pin", "en", attempts_left=1)]
    # Locked: the reply says so, and a notice tells how long the lock lasts.
    locked_for = t("payout.pin_locked_minutes", "en", minutes=30)
    assert phone.sms("PAY 10 1111") == [t("withdraw.locked", "en"), locked_for]
    assert phone.sms(f"PAY 10 {PIN}") == [t("withdraw.locked", "en")]  # even the right one
    assert phone.sms("PAY ten") == [t("withdraw.sms_usage", "en")]
    assert payouts_of(kazi, phone.phone) == []


def test_lang_help_stop_and_start(kazi: Flask) -> None:
    registered(kazi, "+254733000003")
    phone = SimulatedPhone(kazi, "+254733000003")
    [reply] = phone.sms("LANG")
    assert reply.startswith(t("lang.choose", "en"))
    [reply] = phone.sms("3")
    assert reply.startswith(t("lang.saved", "fr"))
    assert worker_row(kazi, phone.phone).language == "fr"
    assert phone.sms("AIDE") == [t("help.sms", "fr", **CODE)]
    assert phone.sms("STOP") == [t("sms.stop", "fr")]
    assert phone.sms("TASK") == []  # an opted-out worker is not answered
    assert phone.sms("START") == [t("sms.start", "fr")]
    [reply] = phone.sms("MISSION")
    assert TASKS[0] in reply


def test_a_new_number_registers_by_sms(kazi: Flask) -> None:
    phone = SimulatedPhone(kazi, "+254733000004")
    [reply] = phone.sms("Hello")
    assert reply.startswith(t("reg.welcome", "en"))
    assert phone.sms("TASK")[0].startswith(t("reg.welcome", "en"))  # not before registering
    assert phone.sms("2")[0].startswith(t("reg.speaks", "sw"))
    assert phone.sms("2")[0].startswith(t("reg.terms", "sw"))  # tasks in Kiswahili and English
    assert phone.sms("1") == [t("reg.pin", "sw")]
    assert phone.sms("1234") == [t("error.weak_pin", "sw") + "\n" + t("reg.pin", "sw")]
    phone.sms(PIN)
    [reply] = phone.sms(PIN)
    assert reply.startswith(t("reg.pin_saved", "sw")) and "Gold " in reply
    row = worker_row(kazi, phone.phone)
    assert (row.language, row.qualified_at) == ("sw", None) and row.registered_at is not None
    assert row.languages == ["sw", "en"]
