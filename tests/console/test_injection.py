"""SQL and script injection in console searches and API filters is harmless: no 5xx, no markup,
no rows touched."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.api.conftest import PROJECT, auth, new_key
from tests.console import factories as make
from workers.models import Worker

SignedIn = Callable[[str], FlaskClient]

PAYLOADS = [
    "' OR '1'='1",
    "1; DROP TABLE workers; --",
    "%' UNION SELECT msisdn, msisdn FROM workers --",
    '"><script>alert(1)</script>',
    "<img src=x onerror=alert(1)>",
    "\\x00\\' --",
    "%",
    "_",
    "０７１１",  # full-width digits
    "\u202e1170",  # a right-to-left override
]

SEARCHES = [
    "/console/workers?q={}",
    "/console/workers?q={}&status={}",
    "/console/messages?phone={}",
    "/console/messages?channel={}&status={}&direction={}",
    "/console/messages?from={}&to={}&page={}",
    "/console/messages?q={}&network={}&provider={}",
    "/console/messages.csv?q={}&phone={}",
    "/console/ussd/sessions?q={}&outcome={}&network={}",
    "/console/timeline?phone={}",
    "/console/payouts?status={}",
]


def _workers(app: Flask) -> int:
    with app.extensions["kazi"].sessions() as session:
        return session.scalar(select(func.count(Worker.id))) or 0


@pytest.mark.parametrize("payload", PAYLOADS)
def test_console_searches_treat_injection_as_text(
    app: Flask, signed_in: SignedIn, payload: str
) -> None:
    with app.extensions["kazi"].sessions.begin() as session:
        make.worker(session, "+254700000001")
        make.worker(session, "+254711222333")
    client = signed_in("admin")
    for template in SEARCHES:
        response = client.get(template.replace("{}", payload), follow_redirects=True)
        assert response.status_code < 500, template
        page = response.get_data(as_text=True)
        assert "<script>alert(1)</script>" not in page and "<img src=x" not in page, template
    # The search reads digits only: a payload finds what its digits alone find.
    digits = "".join(ch for ch in payload if ch.isdigit())
    found = client.get("/console/workers", query_string={"q": payload}).get_data(as_text=True)
    alone = client.get("/console/workers", query_string={"q": digits}).get_data(as_text=True)
    assert found.count("/console/workers/") == alone.count("/console/workers/")
    assert _workers(app) == 2


@pytest.mark.parametrize("payload", PAYLOADS)
def test_api_filters_and_fields_treat_injection_as_text(app: Flask, payload: str) -> None:
    client = app.test_client()
    key = new_key(app)
    created = client.post(
        "/api/v1/projects", json={**PROJECT, "name": payload[:100]}, headers=auth(key)
    )
    assert created.status_code == 201
    project = created.get_json()
    assert project["name"] == payload[:100]
    response = client.get(
        f"/api/v1/projects/{project['id']}/results",
        query_string={"include": payload},
        headers=auth(key),
    )
    assert response.status_code == 422
    listed = client.get("/api/v1/projects", headers=auth(key)).get_json()["projects"]
    assert [p["id"] for p in listed] == [project["id"]]


def test_a_project_name_with_markup_is_escaped_on_console_pages(
    app: Flask, signed_in: SignedIn
) -> None:
    client = app.test_client()
    key = new_key(app)
    name = '<script>alert("x")</script>'
    assert (
        client.post(
            "/api/v1/projects", json={**PROJECT, "name": name}, headers=auth(key)
        ).status_code
        == 201
    )
    page = signed_in("admin").get("/console/projects").get_data(as_text=True)
    assert "&lt;script&gt;" in page and name not in page
