"""Joining a partner centre by dialling its code, through the real AT USSD webhook:
``*384*12*CODE#`` arrives as the service code with ``CODE`` as the first text."""

from __future__ import annotations

import uuid

from flask import Flask

from gateway.simulated_phone import SimulatedPhone
from tests.gateway.journeys import Handset, t, worker_row
from tests.gateway.web import runtime_of
from workers.centres import create_centre


class CentreHandset(Handset):
    """A handset that dials the service code with extra digits, as AT forwards them."""

    def dial_with(self, extension: str) -> str:
        """Dial ``*384*12*<extension>#``: AT sends ``extension`` as the session's first text."""
        self.session_id = f"ATUid_sim_{uuid.uuid4().hex}"
        self.text = extension
        return self._hop()


def _centre(app: Flask, code: str, name: str = "Kibera Hub") -> int:
    with runtime_of(app).sessions.begin() as session:
        return create_centre(session, name=name, country="KE", registration_code=code).id


def test_the_first_dial_with_a_centres_code_makes_it_the_workers_centre(kazi: Flask) -> None:
    centre = _centre(kazi, "501")
    other = _centre(kazi, "777", "Gulu Centre")
    phone = CentreHandset(kazi, "+254746000001")
    screen = phone.dial_with("501")
    # The code is not an answer: the worker meets the welcome screen as on a plain dial.
    assert screen.startswith("CON " + t("reg.welcome", "en").split("\n")[0])
    assert worker_row(kazi, phone.phone).centre_id == centre
    # The session goes on from there: "1" picks English, as it would after *384*12#.
    phone.press("1")  # English, then the languages of tasks
    assert t("reg.accept", "en") in phone.press("1")
    # Another centre's code later changes nothing: only an admin moves a worker.
    phone.dial_with("777")
    assert worker_row(kazi, phone.phone).centre_id == centre != other


def test_an_unknown_code_starts_the_session_like_a_plain_dial(kazi: Flask) -> None:
    phone = CentreHandset(kazi, "+254746000002")
    assert phone.dial_with("999").startswith("CON " + t("reg.welcome", "en").split("\n")[0])
    assert worker_row(kazi, phone.phone).centre_id is None


def test_a_short_extension_is_still_a_menu_shortcut_not_a_centre(kazi: Flask) -> None:
    _centre(kazi, "501")
    plain = SimulatedPhone(kazi, "+254746000003")
    plain.dial()
    expected = plain.press("1")  # English chosen on the welcome screen
    phone = CentreHandset(kazi, "+254746000004")
    assert phone.dial_with("1") == expected
    assert worker_row(kazi, phone.phone).centre_id is None
