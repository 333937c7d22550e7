"""Partner centres in the console: admins create centres and put operators and workers in
them; a centre operator sees only their centre's workers, messages, payouts and answers,
and another centre's rows are a 404 even by URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from console.models import AuditEntry, Operator, OperatorRole
from console.services import create_operator
from core.db import utcnow
from payouts.models import PayoutStatus
from tasks.models import ReviewStatus
from tests.console import factories as make
from tests.console.conftest import csrf_token, sign_in
from workers.centres import create_centre
from workers.models import Centre, Worker

OURS = "+254700000001"
THEIRS = "+254711222333"


@contextmanager
def db(app: Flask) -> Iterator[Session]:
    with app.extensions["kazi"].sessions.begin() as session:
        yield session


def _client(app: Flask, email: str, role: OperatorRole, centre_id: int | None) -> FlaskClient:
    with db(app) as session:
        operator, password = create_operator(session, email, role)
        operator.centre_id = centre_id
    client = app.test_client()
    assert sign_in(client, email, password).status_code == 302
    return client


@pytest.fixture
def two_centres(app: Flask) -> dict[str, int]:
    """Two centres, a worker in each with a message, a payout and a held answer."""
    now = utcnow()
    with db(app) as session:
        ours = create_centre(session, name="Kibera Hub", country="KE", registration_code="501")
        theirs = create_centre(session, name="Gulu Centre", country="UG", registration_code="777")
        session.flush()
        ann = make.worker(session, OURS, centre_id=ours.id)
        ben = make.worker(session, THEIRS, centre_id=theirs.id)
        project = make.project(session)
        ids = {"centre": ours.id, "other_centre": theirs.id, "ours": ann.id, "theirs": ben.id}
        for key, worker in (("ours", ann), ("theirs", ben)):
            make.message(session, now, phone=worker.msisdn, worker_id=worker.id, body=f"hi {key}")
            payout = make.payout(session, worker, 1000 + worker.id, PayoutStatus.FAILED, now)
            held = make.answer(session, project, worker, now, flagged=True)
            held.review_status = ReviewStatus.PENDING
            ids[f"{key}_payout"], ids[f"{key}_answer"] = payout.id, held.id
    return ids


def test_a_centre_operator_sees_only_their_centres_workers_messages_and_payouts(
    app: Flask, two_centres: dict[str, int]
) -> None:
    client = _client(app, "hub@example.org", OperatorRole.OPERATOR, two_centres["centre"])
    workers = client.get("/console/workers").get_data(as_text=True)
    assert f'/console/workers/{two_centres["ours"]}"' in workers
    assert f'/console/workers/{two_centres["theirs"]}"' not in workers
    messages = client.get("/console/messages").get_data(as_text=True)
    assert "hi ours" in messages and "hi theirs" not in messages
    payouts = client.get("/console/payouts").get_data(as_text=True)
    assert OURS in payouts
    assert THEIRS not in payouts


def test_another_centres_rows_are_404_even_by_url(app: Flask, two_centres: dict[str, int]) -> None:
    client = _client(app, "hub@example.org", OperatorRole.OPERATOR, two_centres["centre"])
    assert client.get(f"/console/workers/{two_centres['ours']}").status_code == 200
    assert client.get(f"/console/workers/{two_centres['theirs']}").status_code == 404
    assert client.get(f"/console/timeline?worker_id={two_centres['theirs']}").status_code == 404
    assert client.get(f"/console/timeline?phone={THEIRS}").status_code == 404
    assert client.get(f"/console/timeline?phone={OURS}").status_code == 200
    token = csrf_token(client, "/console/workers")
    form = {"reason": "not mine", "csrf_token": token}
    theirs = two_centres["theirs"]
    assert client.post(f"/console/workers/{theirs}/block", data=form).status_code == 404
    payout = two_centres["theirs_payout"]
    assert client.post(f"/console/payouts/{payout}/retry", data=form).status_code == 404
    answer = two_centres["theirs_answer"]
    assert client.post(f"/console/review/{answer}/accept", data=form).status_code == 404
    with db(app) as session:
        assert session.get_one(Worker, theirs).status_reason is None


def test_staff_without_a_centre_see_every_centre(app: Flask, two_centres: dict[str, int]) -> None:
    client = _client(app, "staff@example.org", OperatorRole.VIEWER, None)
    messages = client.get("/console/messages").get_data(as_text=True)
    assert "hi ours" in messages and "hi theirs" in messages
    assert client.get(f"/console/workers/{two_centres['theirs']}").status_code == 200


def test_a_centre_operator_reviews_only_their_centres_held_answers(
    app: Flask, two_centres: dict[str, int]
) -> None:
    client = _client(app, "hub@example.org", OperatorRole.OPERATOR, two_centres["centre"])
    page = client.get("/console/projects").get_data(as_text=True)
    assert f"/console/review/{two_centres['ours_answer']}/accept" in page
    assert f"/console/review/{two_centres['theirs_answer']}/accept" not in page


def test_an_admin_creates_a_centre_and_assigns_an_operator_and_a_worker_audited(
    app: Flask,
) -> None:
    with db(app) as session:
        worker_id = make.worker(session, OURS).id
        viewer, _ = create_operator(session, "field@example.org", OperatorRole.VIEWER)
        viewer_id = viewer.id
    admin = _client(app, "boss@example.org", OperatorRole.ADMIN, None)
    token = csrf_token(admin, "/console/centres")
    created = admin.post(
        "/console/centres",
        data={
            "name": "Kibera Hub",
            "country": "ke",
            "registration_code": "501",
            "csrf_token": token,
        },
        follow_redirects=True,
    )
    assert "Kibera Hub created" in created.get_data(as_text=True)
    with db(app) as session:
        centre = session.scalars(select(Centre)).one()
        assert (centre.country, centre.registration_code) == ("KE", "501")
    admin.post(
        "/console/centres/operators",
        data={"member_id": viewer_id, "centre_id": centre.id, "csrf_token": token},
    )
    admin.post(
        "/console/centres/workers",
        data={"member_id": worker_id, "centre_id": centre.id, "csrf_token": token},
    )
    with db(app) as session:
        assert session.get_one(Operator, viewer_id).centre_id == centre.id
        assert session.get_one(Worker, worker_id).centre_id == centre.id
        actions = set(session.scalars(select(AuditEntry.action)))
    assert {"centre.create", "operator.centre", "worker.centre"} <= actions
    page = admin.get("/console/centres").get_data(as_text=True)
    assert "Kibera Hub" in page and "field@example.org" in page


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"name": "Hub", "country": "KE", "registration_code": "12"}, "3-8 digits"),
        ({"name": "Hub", "country": "KE", "registration_code": "5O1"}, "3-8 digits"),
        ({"name": "Hub", "country": "K1", "registration_code": "501"}, "two-letter"),
        ({"name": "Again", "country": "KE", "registration_code": "777"}, "another centre"),
    ],
)
def test_a_bad_centre_is_refused_with_the_reason(
    app: Flask, fields: dict[str, str], why: str
) -> None:
    with db(app) as session:
        create_centre(session, name="Gulu", country="UG", registration_code="777")
    admin = _client(app, "boss@example.org", OperatorRole.ADMIN, None)
    token = csrf_token(admin, "/console/centres")
    page = admin.post(
        "/console/centres", data={**fields, "csrf_token": token}, follow_redirects=True
    )
    assert page.status_code == 200 and why in page.get_data(as_text=True)
    with db(app) as session:
        assert len(session.scalars(select(Centre)).all()) == 1


def test_an_admin_cannot_be_scoped_to_a_centre(app: Flask) -> None:
    with db(app) as session:
        centre_id = create_centre(session, name="Hub", country="KE", registration_code="501").id
    admin = _client(app, "boss@example.org", OperatorRole.ADMIN, None)
    token = csrf_token(admin, "/console/centres")
    with db(app) as session:
        me = session.scalars(select(Operator.id)).one()
    page = admin.post(
        "/console/centres/operators",
        data={"member_id": me, "centre_id": centre_id, "csrf_token": token},
        follow_redirects=True,
    )
    assert "an admin sees every centre" in page.get_data(as_text=True)
    with db(app) as session:
        assert session.get_one(Operator, me).centre_id is None


def _csv_worker_ids(client: FlaskClient) -> set[int]:
    response = client.get("/console/impact.csv")
    assert response.status_code == 200
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0].startswith("worker_id,")
    return {int(line.split(",")[0]) for line in lines[1:]}


def test_a_centre_operator_reads_the_impact_report_of_their_centre_only(
    app: Flask, two_centres: dict[str, int]
) -> None:
    now = utcnow()
    with db(app) as session:
        project = make.project(session)
        for key in ("ours", "theirs"):
            paid = make.answer(session, project, session.get_one(Worker, two_centres[key]), now)
            paid.paid = True
    hub = _client(app, "hub@example.org", OperatorRole.OPERATOR, two_centres["centre"])
    assert _csv_worker_ids(hub) == {two_centres["ours"]}
    assert hub.get("/console/impact").status_code == 200
    staff = _client(app, "staff@example.org", OperatorRole.VIEWER, None)
    assert _csv_worker_ids(staff) == {two_centres["ours"], two_centres["theirs"]}
