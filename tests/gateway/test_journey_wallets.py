"""A wallet per currency and airtime as a chosen service, through the real AT USSD webhook.

A Kenyan worker who also holds Ugandan shillings sees both balances and picks the wallet
to withdraw from; where PAYOUT_AIRTIME_LIMITS offers airtime for the currency, the
withdrawal menu offers it beside the country's mobile money, and the PIN screen names
the service chosen.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from flows.i18n import format_money
from payouts.models import PayoutStatus
from tests.emulators.at_airtime import AirtimeEmulator
from tests.gateway.journeys import PIN, Handset, kes, payouts_of, registered, t
from tests.gateway.web import close_app, gateway_app, runtime_of
from tests.payouts.factories import earn, wait_until, wallet_balance

LANGUAGES = ["en", "sw", "fr"]


def ugx(amount: int) -> dict[str, object]:
    return {"amount": amount, "currency": "UGX"}


def kes_money(amount: int) -> dict[str, object]:
    return {"amount": amount, "currency": "KES"}


def worker_with(app: Flask, phone: str, language: str, **wallets: int) -> int:
    """A registered Kenyan worker whose wallets hold ``wallets`` (currency=minor units)."""
    worker_id = registered(app, phone, language).id
    with runtime_of(app).sessions.begin() as session:
        for currency, minor in wallets.items():
            earn(session, worker_id, minor, currency)
    return worker_id


def withdrawing(app: Flask, phone_number: str, minor: int, *keys: str) -> Handset:
    """A Kenyan worker holding ``minor`` KES in the withdraw menu, having pressed ``keys``."""
    worker_with(app, phone_number, "en", KES=minor)
    phone = Handset(app, phone_number)
    phone.dial()
    for key in ("3", *keys):
        phone.press(key)
    return phone


@pytest.fixture
def kazi(committed_url: str) -> Iterator[Flask]:
    """The app with instant sandbox payouts in every currency and no airtime."""
    app = gateway_app(committed_url, payout_sandbox_delay_seconds=0.0)
    yield app
    close_app(app)


@pytest.mark.parametrize("language", LANGUAGES)
def test_two_wallets_show_both_balances_and_the_worker_picks_one(
    kazi: Flask, language: str
) -> None:
    phone_number = f"+2547220001{LANGUAGES.index(language):02d}"
    worker_id = worker_with(kazi, phone_number, language, KES=5_000, UGX=300_000)
    phone = Handset(kazi, phone_number)
    phone.dial()
    earnings = phone.press("2")
    assert t("earnings.show_all", language).split(":")[0] in earnings
    assert kes(5_000, language) in earnings and format_money(ugx(300_000), language) in earnings
    pick = phone.press("1")  # withdraw, from the earnings screen
    assert pick.startswith("CON " + t("withdraw.pick", language))
    kes_line = t("withdraw.wallet", language, balance=kes_money(5_000), mobile="M-Pesa")
    ugx_line = t("withdraw.wallet", language, balance=ugx(300_000), mobile="MTN MoMo")
    assert f"1 {kes_line}\n2 {ugx_line}" in pick
    offer = phone.press("2")
    assert offer.startswith(
        "CON " + t("withdraw.offer", language, balance=ugx(300_000), service="MTN MoMo")
    )
    phone.press("2")  # another amount, typed in the wallet's currency (no decimals)
    pin = phone.press("50000")
    assert pin == "CON " + t("withdraw.pin", language, amount=ugx(50_000), service="MTN MoMo") + (
        "\n" + t("nav.back", language)
    )
    done = phone.press(PIN)
    assert done == "END " + t("withdraw.done", language, amount=ugx(50_000), service="MTN MoMo")
    wait_until(lambda: payouts_of(kazi, phone_number)[0].status is PayoutStatus.SETTLED)
    [payout] = payouts_of(kazi, phone_number)
    assert (payout.amount_minor, payout.currency) == (50_000, "UGX")
    with runtime_of(kazi).sessions() as session:
        assert wallet_balance(session, worker_id, "UGX") == 250_000
        assert wallet_balance(session, worker_id, "KES") == 5_000  # the other wallet untouched


def test_the_home_wallet_is_picked_like_any_other(kazi: Flask) -> None:
    phone_number = "+254722000199"
    worker_with(kazi, phone_number, "en", KES=5_000, UGX=300_000)
    phone = Handset(kazi, phone_number)
    phone.dial()
    phone.press("3")
    assert phone.press("1").startswith("CON " + t("withdraw.offer", "en", balance=kes_money(5_000)))
    assert phone.press("1").startswith("CON " + t("withdraw.pin", "en", amount=kes_money(5_000)))
    assert phone.press(PIN) == "END " + t("withdraw.done", "en", amount=kes_money(5_000))
    wait_until(lambda: payouts_of(kazi, phone_number)[0].status is PayoutStatus.SETTLED)
    [payout] = payouts_of(kazi, phone_number)
    assert (payout.amount_minor, payout.currency) == (5_000, "KES")


def test_one_wallet_with_money_in_another_currency_needs_no_menu(kazi: Flask) -> None:
    phone_number = "+254722000198"
    worker_with(kazi, phone_number, "en", UGX=40_000)  # a Kenyan with only shillings of Uganda
    phone = Handset(kazi, phone_number)
    phone.dial()
    earnings = phone.press("2")
    assert earnings.startswith("CON " + t("earnings.show", "en", balance=ugx(40_000))[:20])
    assert format_money(ugx(40_000), "en") in earnings
    phone.press("0")
    offer = phone.press("3")
    assert offer.startswith(
        "CON " + t("withdraw.offer", "en", balance=ugx(40_000), service="MTN MoMo")
    )


@pytest.fixture
def kazi_airtime(committed_url: str, airtime: AirtimeEmulator) -> Iterator[Flask]:
    """The app with airtime offered for KES (KES 5 to KES 500) through AT's emulator."""
    app = gateway_app(
        committed_url,
        payout_sandbox_delay_seconds=0.0,
        payout_airtime_limits=(("KES", 500, 50_000, 100_000),),
        at_username=airtime.username,
        at_api_key=airtime.api_key,
        at_airtime_base_url=airtime.url,
    )
    yield app
    close_app(app)


@pytest.mark.parametrize("language", LANGUAGES)
def test_airtime_is_a_choice_beside_mobile_money_and_the_pin_screen_names_it(
    kazi_airtime: Flask, airtime: AirtimeEmulator, language: str
) -> None:
    phone_number = f"+2547220002{LANGUAGES.index(language):02d}"
    worker_with(kazi_airtime, phone_number, language, KES=5_000)
    phone = Handset(kazi_airtime, phone_number)
    phone.dial()
    phone.press("3")
    service = phone.press("1")  # all of it
    assert service.startswith("CON " + t("withdraw.service", language, amount=kes_money(5_000)))
    assert f"1 M-Pesa\n2 {t('withdraw.airtime', language)}" in service
    pin = phone.press("2")
    assert pin.startswith(
        "CON " + t("withdraw.pin", language, amount=kes_money(5_000), service="airtime")
    )
    done = phone.press(PIN)
    assert done == "END " + t("withdraw.done", language, amount=kes_money(5_000), service="airtime")
    [payout] = payouts_of(kazi_airtime, phone_number)
    assert (payout.amount_minor, payout.currency, payout.provider) == (5_000, "KES", "airtime")
    wait_until(lambda: any(phone_number in str(send) for send in airtime.sends))


def test_mobile_money_stays_the_first_choice_when_airtime_is_offered(kazi_airtime: Flask) -> None:
    phone_number = "+254722000299"
    phone = withdrawing(kazi_airtime, phone_number, 5_000, "1")
    assert phone.press("1").startswith("CON " + t("withdraw.pin", "en", amount=kes_money(5_000)))
    assert phone.press(PIN) == "END " + t("withdraw.done", "en", amount=kes_money(5_000))
    wait_until(lambda: payouts_of(kazi_airtime, phone_number)[0].status is PayoutStatus.SETTLED)
    [payout] = payouts_of(kazi_airtime, phone_number)
    assert (payout.provider, payout.currency) == ("sandbox", "KES")


def test_airtime_above_its_maximum_is_refused_not_sent_as_mobile_money(
    kazi_airtime: Flask, airtime: AirtimeEmulator
) -> None:
    phone_number = "+254722000298"
    phone = withdrawing(kazi_airtime, phone_number, 80_000, "2", "700", "2")  # above KES 500
    assert phone.press(PIN) == "END " + t("withdraw.insufficient", "en")
    assert payouts_of(kazi_airtime, phone_number) == []
    assert airtime.sends == []


def test_all_as_airtime_sends_airtimes_maximum(
    kazi_airtime: Flask, airtime: AirtimeEmulator
) -> None:
    phone_number = "+254722000297"
    phone = withdrawing(kazi_airtime, phone_number, 80_000, "1", "2")  # all, as airtime
    assert phone.press(PIN) == "END " + t(
        "withdraw.done", "en", amount=kes_money(50_000), service="airtime"
    )
    [payout] = payouts_of(kazi_airtime, phone_number)
    assert (payout.amount_minor, payout.provider) == (50_000, "airtime")


@pytest.mark.parametrize("language", LANGUAGES)
def test_bal_by_sms_shows_each_wallet_in_its_currency(kazi: Flask, language: str) -> None:
    phone_number = f"+2547220003{LANGUAGES.index(language):02d}"
    worker_with(kazi, phone_number, language, KES=5_000, UGX=300_000)
    [reply] = Handset(kazi, phone_number).sms("BAL")
    balances = [kes_money(5_000), ugx(300_000)]
    assert reply.startswith(t("earnings.show_all", language, balances=balances).split("\n")[0])
