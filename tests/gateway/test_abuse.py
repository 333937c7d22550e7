"""Flood limits per phone number (USSD hops, inbound SMS), on a controlled clock; body size limits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from core.kvstore import MemoryStore
from core.throttle import WindowLimit
from gateway import abuse
from tests.api.conftest import auth, new_key
from tests.gateway.payloads import load_form
from tests.gateway.web import at_url, close_app, gateway_app, messages, outbox, runtime_of, worker

PHONE = "+254711000111"


class Clock:
    def __init__(self) -> None:
        self.now = 6_000_000.0  # the start of a minute

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limited(committed_url: str, clock: Clock) -> Iterator[Flask]:
    """The app with 3 hops and 2 SMS a minute per number, counted on ``clock``."""
    app = gateway_app(committed_url, ussd_hops_per_minute=3, sms_inbound_per_minute=2)
    runtime = runtime_of(app)
    store = MemoryStore(clock=clock)
    runtime.extras["gateway:abuse-limits"] = abuse.ChannelLimits(
        WindowLimit(store, "ussd-hop", 3, clock=clock),
        WindowLimit(store, "sms-in", 2, clock=clock),
    )
    yield app
    close_app(app)


def _hop(app: Flask, session_id: str, text: str = "") -> str:
    form = {**load_form("at_ussd_first_dial.form"), "sessionId": session_id, "text": text}
    form["phoneNumber"] = PHONE
    response = app.test_client().post(at_url("ussd"), data=form)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_number_dialling_in_a_loop_gets_a_polite_end_until_the_next_minute(
    limited: Flask, clock: Clock
) -> None:
    screens = [_hop(limited, f"s{n}") for n in range(4)]
    assert all(s.startswith("CON ") for s in screens[:3])
    assert screens[3] == "END Too many requests. Please wait a minute, then dial again."
    # Another number is not affected.
    other = {**load_form("at_ussd_first_dial.form"), "phoneNumber": "+254722000222"}
    assert (
        limited.test_client().post(at_url("ussd"), data=other).get_data(as_text=True)[:4] == "CON "
    )
    clock.now += 60
    assert _hop(limited, "s9").startswith("CON ")


def test_the_slow_down_screen_is_in_the_workers_language(limited: Flask) -> None:
    _hop(limited, "a")
    with runtime_of(limited).sessions.begin() as session:
        from workers.models import Worker

        session.query(Worker).filter_by(msisdn=PHONE).update({"language": "sw"})
    for n in range(2):
        _hop(limited, f"b{n}")
    assert _hop(limited, "c").startswith("END Maombi mengi mno.")


def test_sms_over_the_limit_are_stored_but_not_answered_and_stop_still_works(
    limited: Flask, clock: Clock
) -> None:
    client, form = limited.test_client(), load_form("at_sms_inbound.form")
    for n in range(3):
        assert (
            client.post(at_url("sms"), data={**form, "id": f"m{n}", "text": "HELP"}).status_code
            == 200
        )
    replies = len(outbox(limited))
    assert replies == 2  # the third was not handled
    inbound = [m for m in messages(limited) if m.direction == "in"]
    assert [m.error for m in inbound] == [None, None, "rate_limited"]
    assert client.post(at_url("sms"), data={**form, "id": "m3", "text": "STOP"}).status_code == 200
    outbox(limited)
    assert worker(limited, PHONE).opted_out_at is not None


def test_a_broken_store_lets_workers_through(clock: Clock) -> None:
    class Broken(MemoryStore):
        def incr(self, key: str, ttl_seconds: float | None = None) -> int:
            raise ConnectionError("redis down")

    assert WindowLimit(Broken(), "ussd-hop", 1, clock=clock).hit(PHONE)
    assert WindowLimit(MemoryStore(), "off", 0).hit(PHONE)


@pytest.mark.parametrize(
    "path",
    [
        at_url("ussd"),
        at_url("sms"),
        at_url("sms/delivery"),
        at_url("ussd/events"),
        at_url("sms/optout"),
        "/webhooks/twilio/sms",
        "/webhooks/payouts/b2c/result",
        "/api/v1/projects",
        "/console/login",
    ],
)
def test_oversized_bodies_are_413(web: Flask, path: str) -> None:
    form = (b"text=" + b"x" * (1024 * 1024 + 1), "application/x-www-form-urlencoded")
    json = (b'{"name": "' + b"x" * (1024 * 1024 + 1) + b'"}', "application/json")
    # The API reads JSON only (a form is a 422 before its body is read); the rest forms.
    bodies = [json] if path.startswith("/api/") else [form, json]
    # The API checks the key before it reads a body: show one.
    headers = auth(new_key(web)) if path.startswith("/api/") else {}
    for body, kind in bodies:
        response = web.test_client().post(path, data=body, content_type=kind, headers=headers)
        assert response.status_code == 413, kind
    assert messages(web) == []
