"""The impact report through the console page, its CSV and ``GET /api/v1/impact``."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from console.models import OperatorRole
from console.services import create_operator
from core.db import utcnow
from core.money import Money
from impact import surveys
from impact.models import SurveyKind
from impact.report import impact_report
from tasks.assignment import get_next_task
from tasks.submission import submit_answer
from tests.console.conftest import sign_in
from tests.gateway.journeys import registered
from tests.gateway.web import close_app, gateway_app, runtime_of
from tests.tasks import factories
from workers.models import Worker

TOKEN = "operator-token-0123456789abcdef"
PHONES = ("+254722000201", "+254722000202", "+254722000203")


@pytest.fixture
def impact_app(committed_url: str) -> Iterator[Flask]:
    """Three Kenyan workers: two worked and answered both surveys, one declined the baseline."""
    app = gateway_app(committed_url, operator_api_token=TOKEN, platform_fee_percent=25)
    with runtime_of(app).sessions.begin() as session:
        owner, _ = factories.requester(session)
        factories.project(session, owner, texts=[f"Review {n}" for n in range(5)])
    w1, w2, w3 = (registered(app, phone) for phone in PHONES)
    now = utcnow()
    with runtime_of(app).sessions.begin() as session:
        one, two, three = (session.get_one(Worker, w.id) for w in (w1, w2, w3))
        _answer(session, one, now - timedelta(hours=1), seconds=30, times=2)
        _answer(session, two, now - timedelta(hours=2), seconds=10, times=1)
        _survey(session, one, SurveyKind.BASELINE, 0, band=1)
        _survey(session, one, SurveyKind.FOLLOWUP, 90, band=3, new_work="job")
        _survey(session, two, SurveyKind.BASELINE, 0, band=2)
        _survey(session, two, SurveyKind.FOLLOWUP, 90, band=2, new_work="none")
        answers = surveys.SurveyAnswers(SurveyKind.BASELINE, 0, False, "KES")
        surveys.save_response(session, three, answers, now, None)
    yield app
    close_app(app)


def _answer(session: Session, worker: Worker, start: datetime, *, seconds: int, times: int) -> None:
    clock = start
    for _ in range(times):
        view = get_next_task(session, worker, clock)
        assert view is not None
        clock += timedelta(seconds=seconds)
        submit_answer(session, worker, view.task_id, "A", clock)


def _survey(session: Session, worker: Worker, kind: SurveyKind, wave: int, **answers: Any) -> None:
    values = {"income_source": "casual", "hours_band": 2, **answers}
    bands = {"income_band": values.pop("band")}
    saved = surveys.SurveyAnswers(kind, wave, True, "KES", **bands, **values)
    surveys.save_response(session, worker, saved, utcnow(), Money(2_000, "KES"))


def admin(app: Flask, role: OperatorRole = OperatorRole.ADMIN) -> FlaskClient:
    with runtime_of(app).sessions.begin() as session:
        operator, password = create_operator(session, f"{role}@impact.example.org", role)
        email = operator.email
    client = app.test_client()
    assert sign_in(client, email, password).status_code == 302
    return client


def test_the_report_counts_work_wages_and_survey_change(impact_app: Flask) -> None:
    settings = runtime_of(impact_app).settings
    with runtime_of(impact_app).sessions() as session:
        report = impact_report(session, settings, utcnow())
    assert report.active_workers_30d == 2
    assert (report.baseline_answered, report.baseline_declined, report.followups_answered) == (
        2,
        1,
        2,
    )
    [wages] = report.wages
    assert (wages.currency, wages.total_minor, wages.workers) == ("KES", 300, 2)
    assert wages.median_per_worker_minor == 150
    assert sum(b.workers for b in wages.distribution) == 2
    [hourly] = report.hourly
    # KES 3.00 for 70 seconds on task: KES 154.28 an hour, above Kenya's KES 125 floor.
    assert (hourly.country, hourly.hourly_minor, hourly.floor_minor) == ("KE", 15428, 12500)
    assert hourly.below_floor is False
    [share] = report.worker_share
    assert (share.wages_minor, share.fees_minor, share.share) == (300, 75, 0.8)
    [change] = report.band_changes
    assert (change.wave, change.n, change.up, change.same, change.down) == (90, 2, 1, 1, 0)
    assert change.mean_change == 1.0 and change.small_sample is True
    assert report.new_work.n == 2 and report.new_work.share == 0.5
    assert report.new_work.small_sample is True


def test_the_report_takes_a_scope_of_workers(impact_app: Flask) -> None:
    settings = runtime_of(impact_app).settings
    with runtime_of(impact_app).sessions() as session:
        scope = select(Worker.id).where(Worker.msisdn == PHONES[0])
        report = impact_report(session, settings, utcnow(), scope)
    assert report.active_workers_30d == 1
    assert [w.total_minor for w in report.wages] == [200]
    assert [(c.n, c.up) for c in report.band_changes] == [(1, 1)]
    assert report.baseline_declined == 0 and report.new_work.share == 1.0


def test_the_console_page_shows_the_report_with_small_samples_marked(impact_app: Flask) -> None:
    page = admin(impact_app).get("/console/impact")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "KES 3.00" in html and "KES 154.28" in html and "80%" in html
    assert "n&lt;10" in html and "50% of 2 follow-up respondents" in html
    assert PHONES[0] not in html
    # It holds no phone number: every console role reads it (a centre's operator, theirs).
    assert admin(impact_app, OperatorRole.VIEWER).get("/console/impact").status_code == 200


def test_the_csv_has_a_row_per_worker_and_no_phone_number(impact_app: Flask) -> None:
    response = admin(impact_app).get("/console/impact.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert not any(phone in body for phone in PHONES) and "+254" not in body
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 2  # the two who worked; a declined baseline adds no row
    worked = {r["wages_minor"]: r for r in rows}
    assert worked["200"]["band_change"] == "2" and worked["200"]["new_work"] == "job"
    assert worked["100"]["band_change"] == "0"


def test_the_api_answers_admins_with_the_operator_token_only(impact_app: Flask) -> None:
    client = impact_app.test_client()
    assert client.get("/api/v1/impact").status_code == 401
    with runtime_of(impact_app).sessions.begin() as session:
        _, key = factories.requester(session, "Other")
    as_requester = client.get("/api/v1/impact", headers={"Authorization": f"Bearer {key}"})
    assert as_requester.status_code == 401  # a requester key never opens it
    auth = {"Authorization": f"Bearer {TOKEN}"}
    body = client.get("/api/v1/impact", headers=auth).get_json()
    assert body["active_workers_30d"] == 2 and body["wages"][0]["total_minor"] == 300
    assert body["band_changes"][0]["n"] == 2 and body["band_changes"][0]["small_sample"] is True
    assert body["hourly"][0]["floor_minor"] == 12500
    csv_body = client.get("/api/v1/impact?format=csv", headers=auth)
    assert csv_body.mimetype == "text/csv" and "+254" not in csv_body.get_data(as_text=True)
    bad = client.get("/api/v1/impact?format=xml", headers=auth)
    assert bad.status_code == 422
    assert bad.get_json()["errors"] == [
        {
            "field": "format",
            "problem": "must be one of the allowed values",
            "allowed": ["json", "csv"],
        }
    ]


def test_the_api_refuses_everyone_when_no_operator_token_is_set(kazi: Flask) -> None:
    response = kazi.test_client().get("/api/v1/impact", headers={"Authorization": "Bearer x"})
    assert response.status_code == 401
