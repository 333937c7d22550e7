"""The console's funding page: admins record deposits (maker-checker optional) and grant credit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from core.db import utcnow
from core.money import Money
from kazi.app import create_app
from tasks.funding import balances
from tasks.models import Deposit, DepositStatus
from tasks.requesters import create_requester
from tests.conftest import make_settings
from tests.console.conftest import csrf_token, sign_in
from tests.console.test_auth import audit
from tests.console.test_money_pages import db
from tests.tasks import factories as tasks_factories

PAGE = "/console/funding"
SignedIn = Callable[[str], FlaskClient]


@pytest.fixture(params=[False], ids=["maker-checker-off"])
def maker_checker(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def app(committed_url: str, maker_checker: bool) -> Iterator[Flask]:
    settings = make_settings(database_url=committed_url, funding_maker_checker=maker_checker)
    flask_app = create_app(settings)
    flask_app.config["TESTING"] = True
    yield flask_app
    flask_app.extensions["kazi"].engine.dispose()


@pytest.fixture
def requester_id(app: Flask) -> int:
    with db(app) as session:
        requester, _ = create_requester(session, "Acme Research")
        return requester.id


def post(client: FlaskClient, path: str, **data: Any) -> str:
    """Post a funding form with its CSRF token; the page it redirects to, with its flashes."""
    response = client.post(path, data={"csrf_token": csrf_token(client, PAGE), **data})
    assert response.status_code == 302, response.status_code
    return client.get(response.location).get_data(as_text=True)


def deposit_form(requester_id: int, **overrides: str) -> dict[str, Any]:
    form = {
        "requester_id": str(requester_id),
        "amount": "5,000.50",
        "currency": "KES",
        "channel": "mpesa",
        "reference": "qk12abc3de",
        "note": "statement 2026-12",
    }
    return {**form, **overrides}


def available(app: Flask, requester_id: int) -> tuple[int, int, int]:
    """(funded, available, pending) in KES cents."""
    with db(app) as session:
        (kes,) = balances(session, requester_id)
        return kes.funded, kes.available, kes.pending


def test_only_admins_see_or_use_the_funding_page(signed_in: SignedIn, requester_id: int) -> None:
    for role in ("viewer", "operator"):
        client = signed_in(role)
        assert client.get(PAGE).status_code == 403
        assert ">Funding</a>" not in client.get("/console/").get_data(as_text=True)
        token = csrf_token(client, "/console/")
        data = {"csrf_token": token, **deposit_form(requester_id)}
        assert client.post(f"{PAGE}/deposits", data=data).status_code == 403
        assert client.post(f"{PAGE}/credit", data={"csrf_token": token}).status_code == 403
    admin = signed_in("admin")
    page = admin.get(PAGE).get_data(as_text=True)
    assert ">Funding</a>" in page and "Acme Research" in page and "no funding yet" in page
    assert "Maker-checker is off" in page


def test_an_admin_records_a_deposit_that_counts_at_once_audited(
    app: Flask, signed_in: SignedIn, requester_id: int
) -> None:
    admin = signed_in("admin")
    page = post(admin, f"{PAGE}/deposits", **deposit_form(requester_id))
    assert "(QK12ABC3DE) recorded; it counts." in page
    assert available(app, requester_id) == (500_050, 500_050, 0)
    assert "KES 5000.50" in page
    (entry,) = audit(app)[-1:]
    assert entry[:2] == ("funding.deposit", f"requester:{requester_id}")
    assert entry[2] | {"deposit": 0} == {
        "deposit": 0,
        "amount_minor": 500_050,
        "currency": "KES",
        "channel": "mpesa",
        "reference": "QK12ABC3DE",
        "status": "approved",
    }
    again = post(admin, f"{PAGE}/deposits", **deposit_form(requester_id, reference="QK12ABC3DE "))
    assert "Deposit not recorded: reference QK12ABC3DE is already recorded" in again
    assert available(app, requester_id) == (500_050, 500_050, 0)


@pytest.mark.parametrize(
    ("amount", "problem"),
    [("12.345", "minor units"), ("-5", "out of range"), ("0", "out of range"), ("lots", "not an")],
)
def test_a_bad_amount_records_nothing(
    app: Flask, signed_in: SignedIn, requester_id: int, amount: str, problem: str
) -> None:
    page = post(signed_in("admin"), f"{PAGE}/deposits", **deposit_form(requester_id, amount=amount))
    assert "Deposit not recorded" in page and problem in page
    with db(app) as session:
        assert balances(session, requester_id) == []


@pytest.mark.parametrize("maker_checker", [True], ids=["maker-checker-on"], indirect=True)
def test_with_maker_checker_another_admin_approves_before_the_money_counts(
    app: Flask,
    make_operator: Callable[..., tuple[str, str]],
    requester_id: int,
) -> None:
    maker, checker = app.test_client(), app.test_client()
    for client, email in ((maker, "maker@example.org"), (checker, "checker@example.org")):
        assert sign_in(client, *make_operator("admin", email)).status_code == 302
    page = post(maker, f"{PAGE}/deposits", **deposit_form(requester_id))
    assert "another admin must approve it" in page and "Maker-checker is on" in page
    assert "another admin decides" in page  # no buttons for the maker
    assert available(app, requester_id) == (0, 0, 500_050)
    with db(app) as session:
        (deposit_id,) = session.scalars(select(Deposit.id))
    refused = post(maker, f"{PAGE}/deposits/{deposit_id}/approve")
    assert "another admin must decide on a deposit you recorded" in refused
    assert available(app, requester_id) == (0, 0, 500_050)
    assert "Approve</button>" in checker.get(PAGE).get_data(as_text=True)
    approved = post(checker, f"{PAGE}/deposits/{deposit_id}/approve")
    assert f"Deposit {deposit_id} approved." in approved
    assert available(app, requester_id) == (500_050, 500_050, 0)
    twice = post(checker, f"{PAGE}/deposits/{deposit_id}/approve")
    assert "is already approved" in twice
    assert available(app, requester_id) == (500_050, 500_050, 0)
    actions = [(action, details.get("deposit")) for action, _, details in audit(app)]
    assert ("funding.deposit", deposit_id) in actions and ("funding.approve", deposit_id) in actions
    # A rejected record never counts.
    post(maker, f"{PAGE}/deposits", **deposit_form(requester_id, reference="BANK-77"))
    with db(app) as session:
        pending = session.scalars(
            select(Deposit.id).where(Deposit.status == DepositStatus.PENDING)
        ).one()
    assert f"Deposit {pending} rejected." in post(checker, f"{PAGE}/deposits/{pending}/reject")
    assert available(app, requester_id) == (500_050, 500_050, 0)
    assert audit(app)[-1][0] == "funding.reject"


def test_an_admin_grants_credit_audited(app: Flask, signed_in: SignedIn, requester_id: int) -> None:
    admin = signed_in("admin")
    form = {
        "requester_id": str(requester_id),
        "limit": "10000",
        "currency": "KES",
        "reason": "pays monthly",
    }
    page = post(admin, f"{PAGE}/credit", **form)
    assert f"Credit limit of requester {requester_id} is now KES 10000.00." in page
    assert available(app, requester_id) == (0, 1_000_000, 0)
    assert audit(app)[-1] == (
        "funding.credit",
        f"requester:{requester_id}",
        {"limit_minor": 1_000_000, "currency": "KES", "reason": "pays monthly"},
    )
    missing = post(admin, f"{PAGE}/credit", **{**form, "reason": ""})
    assert "Credit not granted" in missing


def test_the_projects_page_shows_budget_figures(app: Flask, signed_in: SignedIn) -> None:
    with db(app) as session:
        tasks_factories.project(session, name="Budgeted", texts=["t1"])  # KES 1000.00 budget
    page = signed_in("viewer").get("/console/projects").get_data(as_text=True)
    assert '<td class="num budget-funded">KES 1000.00</td>' in page
    assert '<td class="num budget-committed">KES 1000.00</td>' in page
    assert '<td class="num budget-spent">KES 0.00</td>' in page
    assert '<td class="num budget-remaining">KES 1000.00</td>' in page
    assert '<td class="num budget-returned">KES 0.00</td>' in page


def test_the_projects_page_shows_each_projects_warnings(app: Flask, signed_in: SignedIn) -> None:
    with db(app) as session:
        tasks_factories.project(session, name="Starved", budget=Money(50, "KES"))
        tasks_factories.worker(session, language="en", country="KE", registered_at=utcnow())
        tasks_factories.project(session, name="Fine")
    page = signed_in("viewer").get("/console/projects").get_data(as_text=True)
    starved, fine = page.split("Starved")[1], page.split("Fine")[1].split("Starved")[0]
    assert 'data-code="budget_below_one_answer"' in starved.split("</tr>")[0]
    assert "cannot pay one answer" in starved.split("</tr>")[0]
    assert "data-code=" not in fine.split("</tr>")[0]
