"""The phone simulator: operators only, CSRF on its posts, and real webhook traffic behind it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from gateway.models import Direction, Message, UssdSession
from kazi.app import create_app
from tests.conftest import make_settings
from tests.console.conftest import csrf_token
from tests.console.test_auth import audit

SignedIn = Callable[[str], FlaskClient]
PHONE = "+254700000777"
TOKEN_RE = r'name="csrf-token" content="([^"]+)"'


@pytest.fixture
def app(committed_url: str) -> Iterator[Flask]:
    """An app whose AT webhooks demand a token, as in production."""
    flask_app = create_app(make_settings(database_url=committed_url, at_webhook_token="at-secret"))
    flask_app.config["TESTING"] = True
    yield flask_app
    flask_app.extensions["kazi"].jobs.drain()
    flask_app.extensions["kazi"].engine.dispose()


def page_token(client: FlaskClient) -> str:
    """The CSRF token the page gives its script (a meta tag)."""
    page = client.get("/console/simulator").get_data(as_text=True)
    match = re.search(TOKEN_RE, page)
    assert match, page[:500]
    return match.group(1)


def send(client: FlaskClient, path: str, token: str | None, **body: str) -> TestResponse:
    headers = {"X-CSRFToken": token} if token else {}
    return client.post(f"/console/simulator/{path}", json=body, headers=headers)


def test_viewers_cannot_open_or_use_the_simulator(app: Flask, signed_in: SignedIn) -> None:
    client = signed_in("viewer")
    assert client.get("/console/simulator").status_code == 403
    token = csrf_token(client, "/console/")  # a valid token: the refusal is the role's
    assert send(client, "ussd", token, phone=PHONE, text="").status_code == 403
    assert send(client, "sms", token, phone=PHONE, text="HELP").status_code == 403
    assert client.get(f"/console/simulator/inbox?phone={PHONE}").status_code == 403
    assert "Simulator" not in client.get("/console/").get_data(as_text=True)


def test_the_page_runs_only_its_own_script(app: Flask, signed_in: SignedIn) -> None:
    client = signed_in("operator")
    response = client.get("/console/simulator")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert "script-src" not in client.get("/console/").headers["Content-Security-Policy"]
    page = response.get_data(as_text=True)
    assert "/console/static/simulator.js" in page and "<script>" not in page
    assert client.get("/console/static/simulator.js").status_code == 200


def test_posts_without_a_csrf_token_are_refused(app: Flask, signed_in: SignedIn) -> None:
    client = signed_in("operator")
    assert send(client, "ussd", None, phone=PHONE, text="").status_code == 400
    assert send(client, "sms", None, phone=PHONE, text="HELP").status_code == 400
    with app.extensions["kazi"].sessions() as session:
        assert session.scalars(select(UssdSession)).first() is None  # nothing reached it


def test_dialling_goes_through_the_real_ussd_webhook(app: Flask, signed_in: SignedIn) -> None:
    # A first dial from another new number, posted straight to the webhook as Africa's
    # Talking would: the simulator's first screen must be the same, nothing of its own.
    direct = app.test_client().post(
        "/webhooks/africastalking/ussd?token=at-secret",
        data={"sessionId": "direct-1", "serviceCode": "*384*12#", "phoneNumber": "+254700000778"},
    )
    assert direct.status_code == 200
    client = signed_in("operator")
    token = page_token(client)
    first = send(client, "ussd", token, phone=PHONE, text="")
    assert first.status_code == 200, first.get_data(as_text=True)
    reply = first.get_json()
    assert reply["raw"] == direct.get_data(as_text=True)
    assert reply["raw"].startswith(("CON ", "END ")) and reply["screen"]
    with app.extensions["kazi"].sessions() as session:
        row = session.scalars(select(UssdSession).where(UssdSession.phone == PHONE)).one()
        assert (row.session_id, row.phone, row.provider) == (
            reply["session_id"],
            PHONE,
            "africastalking",
        )
    if reply["more"]:
        second = send(client, "ussd", token, phone=PHONE, text="1", session_id=reply["session_id"])
        assert second.status_code == 200 and second.get_json()["screen"]
    assert ("simulator.ussd", f"phone:{PHONE}", {"text": ""}) in audit(app)
    assert send(client, "ussd", token, phone="not a phone", text="").status_code == 400


def test_an_sms_goes_through_the_real_webhook_and_the_reply_shows_in_the_inbox(
    app: Flask, signed_in: SignedIn
) -> None:
    client = signed_in("operator")
    token = page_token(client)
    response = send(client, "sms", token, phone=PHONE, text="HELP")
    assert response.status_code == 200, response.get_data(as_text=True)
    app.extensions["kazi"].jobs.drain()
    with app.extensions["kazi"].sessions() as session:
        inbound = session.scalars(
            select(Message).where(Message.direction == Direction.INBOUND)
        ).one()
        assert (inbound.phone, inbound.body, inbound.provider) == (PHONE, "HELP", "africastalking")
    inbox = client.get(f"/console/simulator/inbox?phone={PHONE}").get_json()
    assert inbox["phone"] == PHONE and inbox["messages"], inbox
    assert all(m["body"] for m in inbox["messages"])
    assert ("simulator.sms", f"phone:{PHONE}", {"text": "HELP"}) in audit(app)


def test_ending_a_session_goes_through_the_real_end_notification(
    app: Flask, signed_in: SignedIn
) -> None:
    client = signed_in("operator")
    token = page_token(client)
    session_id = send(client, "ussd", token, phone=PHONE, text="").get_json()["session_id"]
    assert (
        send(
            client, "ussd/end", None, phone=PHONE, session_id=session_id, status="incomplete"
        ).status_code
        == 400
    )
    assert (
        send(
            client, "ussd/end", token, phone=PHONE, session_id=session_id, status="odd"
        ).status_code
        == 400
    )
    ended = send(
        client,
        "ussd/end",
        token,
        phone=PHONE,
        session_id=session_id,
        status="incomplete",
        hops="2",
        duration_ms="4200",
    )
    assert ended.status_code == 200, ended.get_data(as_text=True)
    with app.extensions["kazi"].sessions() as session:
        row = session.scalars(select(UssdSession).where(UssdSession.session_id == session_id)).one()
        assert (row.end_status, row.duration_ms) == ("incomplete", 4200)
    assert ("simulator.ussd_end", f"phone:{PHONE}", {"text": "Incomplete"}) in audit(app)
    viewer = signed_in("viewer")
    viewer_token = csrf_token(viewer, "/console/")
    assert (
        send(viewer, "ussd/end", viewer_token, phone=PHONE, session_id=session_id, status="success")
    ).status_code == 403


def _operator_client(flask_app: Flask, make_operator: Callable[..., tuple[str, str]], site: str):
    email, password = make_operator("operator", f"op-{len(site)}@example.org")
    client = flask_app.test_client()
    page = client.get("/console/login", base_url=site).get_data(as_text=True)
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert found, page[:500]
    token = found.group(1)
    response = client.post(
        "/console/login",
        base_url=site,
        data={"email": email, "password": password, "csrf_token": token},
        headers={"Referer": f"{site}/console/login"},
    )
    assert response.status_code == 302
    return client


@pytest.mark.parametrize("numbers", [(), (PHONE,)])
def test_in_production_the_simulator_acts_only_as_listed_numbers(
    committed_url: str, make_operator: Callable[..., tuple[str, str]], numbers: tuple[str, ...]
) -> None:
    site = "https://kazi.example.org"
    production = create_app(
        make_settings(
            env="production",
            secret_key="s" * 40,
            public_base_url=site,
            at_webhook_token="token",
            database_url=committed_url,
            simulator_numbers=numbers,
        )
    )
    try:
        client = _operator_client(production, make_operator, site)
        page = client.get("/console/simulator", base_url=site)
        if not numbers:  # its replies would be real SMS to real phones
            assert page.status_code == 403
            assert "SIMULATOR_NUMBERS" in page.get_data(as_text=True)
            return
        found = re.search(TOKEN_RE, page.get_data(as_text=True))
        assert found, page.status_code
        token = found.group(1)
        headers = {"X-CSRFToken": token, "Referer": f"{site}/console/simulator"}

        def dial(phone: str) -> int:
            body = {"phone": phone, "text": ""}
            return client.post(
                "/console/simulator/ussd", base_url=site, json=body, headers=headers
            ).status_code

        assert dial("+254700000999") == 400
        assert dial(PHONE) == 200
    finally:
        production.extensions["kazi"].engine.dispose()
