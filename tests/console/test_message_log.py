"""The message log's search, filters, count, pages and CSV; USSD sessions searched the same way;
every list paged; the dashboard's ranges, local times, networks and reasons in words."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.db import utcnow
from payouts.models import PayoutStatus
from tests.console import factories as make

SignedIn = Callable[[str], FlaskClient]
ANN = "+254700000001"
BEN = "+254711222333"


@contextmanager
def db(app: Flask) -> Iterator[Session]:
    with app.extensions["kazi"].sessions.begin() as session:
        yield session


def test_text_network_and_provider_filters_with_a_total_count(
    app: Flask, signed_in: SignedIn
) -> None:
    now = utcnow()
    with db(app) as session:
        make.message(session, now, body="Your task: is 50% OFF good?", network_code="63902")
        make.message(session, now, body="your TASK is ready", network_code="63903")
        make.message(session, now, body="balance KES 10", provider="twilio")
        make.message(session, now, body="nothing_here", network_code="63902")
    client = signed_in("operator")
    page = client.get("/console/messages?q=task").get_data(as_text=True)
    assert "50% OFF" in page and "your TASK" in page and "balance" not in page
    assert "1–2 of 2 messages" in page
    # LIKE's wildcards are searched for literally.
    page = client.get("/console/messages?q=50%25").get_data(as_text=True)
    assert "50% OFF" in page and "your TASK" not in page and "nothing_here" not in page
    page = client.get("/console/messages?q=_").get_data(as_text=True)
    assert "nothing_here" in page and "your TASK" not in page
    page = client.get("/console/messages?network=Safaricom+KE").get_data(as_text=True)
    assert "50% OFF" in page and "nothing_here" in page and "your TASK" not in page
    assert "Safaricom KE (63902)" in page  # the network by name, its code beside
    page = client.get("/console/messages?network=63903").get_data(as_text=True)
    assert "your TASK" in page and "50% OFF" not in page
    page = client.get("/console/messages?provider=twilio").get_data(as_text=True)
    assert "balance KES 10" in page and "1–1 of 1 messages" in page
    page = client.get("/console/messages?network=Mars&provider=pigeon").get_data(as_text=True)
    assert "of 4 messages" in page  # unknown values do not filter


def test_failure_reasons_show_in_words_with_the_code(app: Flask, signed_in: SignedIn) -> None:
    with db(app) as session:
        make.message(session, utcnow(), status="undelivered", error="30003", provider="twilio")
    page = signed_in("viewer").get("/console/messages").get_data(as_text=True)
    assert "Handset unreachable (off or out of coverage) (Twilio 30003)" in page


def test_pages_are_numbered_and_keep_the_filter(app: Flask, signed_in: SignedIn) -> None:
    now = utcnow()
    with db(app) as session:
        for i in range(120):
            make.message(session, now - timedelta(minutes=i), body=f"task {i}")
    client = signed_in("operator")
    first = client.get("/console/messages?q=task").get_data(as_text=True)
    assert "1–50 of 120 messages · page 1 of 3" in first
    assert 'rel="next" href="?q=task&amp;page=2"' in first
    assert 'rel="last" href="?q=task&amp;page=3"' in first
    last = client.get("/console/messages?q=task&page=3").get_data(as_text=True)
    assert "101–120 of 120 messages · page 3 of 3" in last and 'rel="next"' not in last
    assert "task 119<" in last and "task 100<" in last and "task 99<" not in last
    beyond = client.get("/console/messages?q=task&page=999").get_data(as_text=True)
    assert "page 3 of 3" in beyond  # past the end shows the last page


def test_csv_export_holds_what_the_filter_shows_masked_for_viewers(
    app: Flask, signed_in: SignedIn
) -> None:
    now = utcnow()
    with db(app) as session:
        make.message(session, now, phone=BEN, body='=HYPERLINK("http://x")', network_code="63902")
        make.message(session, now, phone=BEN, direction="in", status="received", body="JOIN")
        make.message(session, now, phone=ANN, status="failed", error="DeliveryFailure", body="hi")
    viewer, operator = signed_in("viewer"), signed_in("operator")
    page = viewer.get("/console/messages?direction=out").get_data(as_text=True)
    assert 'href="/console/messages.csv?direction=out"' in page
    response = viewer.get("/console/messages.csv?direction=out")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 2 and {r["direction"] for r in rows} == {"out"}
    by_body = {r["body"]: r for r in rows}
    formula = by_body['\'=HYPERLINK("http://x")']  # a spreadsheet will not run it
    assert formula["phone"] == "+2547•••••333" and formula["network"] == "Safaricom KE (63902)"
    assert formula["time"].endswith("+03:00")  # the console's zone, Nairobi for KE
    failed = by_body["hi"]
    assert failed["failure"] == "The network could not deliver it (AT DeliveryFailure)"
    assert failed["failure_code"] == "DeliveryFailure"
    assert "711222333" not in response.get_data(as_text=True)
    whole = operator.get("/console/messages.csv?phone=%2B254711222333").get_data(as_text=True)
    assert "+254711222333" in whole and "JOIN" in whole and "DeliveryFailure" not in whole


def test_ussd_sessions_are_searched_and_paged(app: Flask, signed_in: SignedIn) -> None:
    now = utcnow()
    with db(app) as session:
        for i in range(55):
            make.ussd(session, now - timedelta(minutes=i), last_screen=f"Task {i}\n1 Yes\n2 No")
        make.ussd(
            session,
            now,
            phone=BEN,
            end_status="incomplete",
            network_code="63903",
            last_screen="Withdraw\n1 M-Pesa",
        )
    client = signed_in("viewer")
    page = client.get("/console/ussd/sessions").get_data(as_text=True)
    assert "1–50 of 56 sessions" in page and 'rel="next"' in page
    page = client.get("/console/ussd/sessions?q=withdraw").get_data(as_text=True)
    assert "1–1 of 1 sessions" in page and "Airtel KE (63903)" in page
    assert "+2547•••••333" in page and "711222333" not in page
    page = client.get("/console/ussd/sessions?outcome=open&page=2").get_data(as_text=True)
    assert "51–55 of 55 sessions" in page
    airtel = client.get("/console/ussd/sessions?network=Airtel+KE&outcome=incomplete")
    assert "1–1 of 1 sessions" in airtel.get_data(as_text=True)
    bad = client.get("/console/ussd/sessions?phone=x&outcome=%27&from=2026-99-01&page=-1")
    assert bad.status_code == 200 and "is not a phone number" in bad.get_data(as_text=True)


def test_workers_payouts_and_projects_are_paged(app: Flask, signed_in: SignedIn) -> None:
    now = utcnow()
    with db(app) as session:
        workers = [make.worker(session, f"+2547000{i:05d}") for i in range(60)]
        for i in range(55):
            make.payout(session, workers[0], 100 + i, PayoutStatus.SETTLED, now)
        for _ in range(30):
            make.project(session)
    client = signed_in("viewer")
    page = client.get("/console/workers").get_data(as_text=True)
    assert "1–50 of 60 workers · page 1 of 2" in page
    assert "51–60 of 60 workers" in client.get("/console/workers?page=2").get_data(as_text=True)
    page = client.get("/console/payouts?status=settled&page=2").get_data(as_text=True)
    assert "51–55 of 55 payouts · page 2 of 2" in page
    page = client.get("/console/projects").get_data(as_text=True)
    assert "1–25 of 30 projects · page 1 of 2" in page


def test_dashboard_ranges_local_times_and_names(app: Flask, signed_in: SignedIn) -> None:
    now = utcnow()
    with db(app) as session:
        make.message(session, now - timedelta(days=20), status="failed", error="DeliveryFailure")
        make.message(
            session, now, status="undelivered", error="AbsentSubscriber", network_code="63903"
        )
    client = signed_in("viewer")
    month = client.get("/console/?period=30d").get_data(as_text=True)
    assert 'href="?period=30d" aria-current="page"' in month
    assert "The network could not deliver it" in month  # 20 days ago: inside 30 days
    assert "Airtel KE (63903)" in month  # failures by network, by name
    assert "day in Africa/Nairobi (UTC+03:00)" in month  # the time axis says its zone
    assert "messages or sessions per day" in month  # and the y axis its unit
    day = client.get("/console/").get_data(as_text=True)
    assert "The network could not deliver it" not in day  # outside 24 hours
    assert "Phone off or out of coverage (AT AbsentSubscriber)" in day
    assert "hour in Africa/Nairobi (UTC+03:00)" in day
    ussd = client.get("/console/ussd?period=7d").get_data(as_text=True)
    assert "sessions per day" in ussd and 'href="?period=7d" aria-current="page"' in ussd
