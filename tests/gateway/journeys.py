"""Shared pieces of the journey tests: an app with tasks and gold, workers, catalog texts."""

from __future__ import annotations

import functools
from typing import Any

from flask import Flask
from sqlalchemy import select

from core.db import utcnow
from core.medium import USSD_MAX_BODY, ussd_length
from core.money import Money
from core.secrets import hash_password
from flows.engine import default_library
from flows.i18n import format_money
from gateway.simulated_phone import SimulatedPhone
from payouts.models import Payout
from tests.gateway.web import runtime_of
from tests.payouts.factories import earn
from workers.models import Worker

PIN = "4821"
TASKS = ["Task one: the food was good", "Task two: late delivery", "Task three: fine"]
#: Gold questions (the quiz draws all five, in a random order) and their answers.
GOLD = {
    "Gold one: say A": "A",
    "Gold two: say B": "B",
    "Gold three: say C": "C",
    "Gold four: say A": "A",
    "Gold five: say B": "B",
}
KEYS = {"A": "1", "B": "2", "C": "3"}


def quiz_key(screen: str, *, right: bool = True) -> str:
    """The key answering the quiz question on this screen, rightly or wrongly."""
    [answer] = [a for q, a in GOLD.items() if q in screen]
    key = KEYS[answer]
    return key if right else ("2" if key == "1" else "1")


REWARD = Money(2_000, "KES")  # KES 20: one answer is above the KES 10 minimum payout
REWARD_MONEY = {"amount": REWARD.amount, "currency": REWARD.currency}  # as the engine has it


def t(key: str, language: str, **values: Any) -> str:
    """A catalog text, as the engine renders it (a Kenyan worker's: withdrawals go to M-Pesa)."""
    return default_library().catalogs.text(key, language, {"service": "M-Pesa", **values})


def kes(minor: int, language: str) -> str:
    return format_money({"amount": minor, "currency": "KES"}, language)


class Handset(SimulatedPhone):
    """A simulated phone that checks every USSD screen against the 182 rule."""

    def _hop(self) -> str:
        body = super()._hop()
        assert body.startswith(("CON ", "END ")), body
        assert ussd_length(body) <= USSD_MAX_BODY, body
        assert not body.endswith("..."), f"a screen was cut: {body!r}"
        return body


def registered(
    app: Flask, phone: str, language: str = "en", *, qualified: bool = True, country: str = "KE"
) -> Worker:
    """A worker who registered (consent and PIN) and, by default, passed the quiz."""
    now = utcnow()
    with runtime_of(app).sessions.begin() as session:
        worker = Worker(
            msisdn=phone,
            country=country,
            language=language,
            pin_hash=_pin_hash(),
            consented_at=now,
            registered_at=now,
            qualified_at=now if qualified else None,
        )
        session.add(worker)
    return worker


@functools.cache
def _pin_hash() -> str:
    return hash_password(PIN)  # slow by design: hash once per test run


def worker_row(app: Flask, phone: str) -> Worker:
    with runtime_of(app).sessions() as session:
        return session.scalars(select(Worker).where(Worker.msisdn == phone)).one()


def payouts_of(app: Flask, phone: str) -> list[Payout]:
    with runtime_of(app).sessions() as session:
        return list(session.scalars(select(Payout).where(Payout.phone == phone)))


def fund(app: Flask, worker_id: int, minor: int = 5_000) -> None:
    """Credit a worker's wallet, as accepted answers would."""
    with runtime_of(app).sessions.begin() as session:
        earn(session, worker_id, minor)
