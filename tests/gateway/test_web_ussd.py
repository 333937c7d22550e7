"""The USSD webhook at the HTTP level: screens, sessions, odd input, and never a 500."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from core.medium import USSD_MAX_BODY, ussd_length
from core.migrate import upgrade
from gateway.inbound import new_ussd_input
from tests.gateway.payloads import load_form
from tests.gateway.web import at_url, gateway_app, runtime_of, ussd_sessions, worker


def _hop(app: Flask, text_value: str, **extra: str) -> tuple[int, str, str]:
    form = {**load_form("at_ussd_first_dial.form"), "text": text_value, **extra}
    response = app.test_client().post(at_url("ussd"), data=form)
    return response.status_code, response.mimetype or "", response.get_data(as_text=True)


def test_first_dial_starts_registration_and_creates_the_worker(web: Flask) -> None:
    status, mimetype, body = _hop(web, "")
    assert (status, mimetype) == (200, "text/plain")
    assert body.startswith("CON Welcome to Kazi!") and "1 English" in body
    (session,) = ussd_sessions(web)
    assert (session.hops, session.seen_text, session.last_screen) == (1, "", body)
    assert session.worker_id == worker(web, "+254711000111").id


def test_each_hop_records_the_flow_step_it_showed_whatever_the_language(web: Flask) -> None:
    _hop(web, "")
    (first,) = ussd_sessions(web)
    _hop(web, "2")  # Kiswahili: the next screen is in Swahili, the step is the same
    (second,) = ussd_sessions(web)
    assert first.last_node == "registration.language"
    assert second.last_node is not None and second.last_node != first.last_node
    other = {"sessionId": "ATUid_other_language", "phoneNumber": "+254711000112"}
    _hop(web, "", **other)
    _hop(web, "1", **other)  # English this time
    by_session = {s.session_id: s for s in ussd_sessions(web)}
    assert by_session["ATUid_other_language"].last_node == second.last_node
    assert by_session["ATUid_other_language"].last_screen != second.last_screen


def test_a_session_walks_forward_and_a_retried_hop_gets_the_same_screen(web: Flask) -> None:
    _hop(web, "")
    status, _, body = _hop(web, "1")
    assert status == 200 and body.startswith("CON You can also do tasks")  # the task languages
    assert _hop(web, "1")[2] == body  # AT retried the hop: same screen, input not fed twice
    (session,) = ussd_sessions(web)
    assert (session.hops, session.seen_text) == (2, "1")


@pytest.mark.parametrize(
    "answer",
    ["5*3", "#", "a#b*c", "Ndiyo 👍🏽 sawa", "x" * 3000, "*", "1**2"],
)
def test_odd_input_reaches_the_flow_whole_and_the_screen_always_fits(
    web: Flask, answer: str
) -> None:
    _hop(web, "")
    status, mimetype, body = _hop(web, answer)
    assert (status, mimetype) == (200, "text/plain")
    assert body.startswith(("CON ", "END ")) and ussd_length(body) <= USSD_MAX_BODY
    (session,) = ussd_sessions(web)
    assert session.seen_text == answer.strip()
    # The next hop's new input is exactly what follows the text already seen.
    assert new_ussd_input(answer.strip() + "*1", session.seen_text) == "1"


def test_the_nested_payload_is_answered(web: Flask) -> None:
    form = load_form("at_ussd_nested.form")
    response = web.test_client().post(at_url("ussd"), data=form)
    assert response.status_code == 200
    # English, a bad key on the task-languages screen, then "2 English": the terms.
    assert response.get_data(as_text=True).startswith("CON Kazi pays for short tasks.")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sessionId": ""}, "sessionId"),
        ({"phoneNumber": "abc"}, "phoneNumber"),
        ({"serviceCode": None}, "serviceCode"),
    ],
)
def test_malformed_hops_are_a_400(web: Flask, change: dict, field: str) -> None:
    form = {**load_form("at_ussd_first_dial.form"), **change}
    form = {k: v for k, v in form.items() if v is not None}
    response = web.test_client().post(at_url("ussd"), data=form)
    assert response.status_code == 400
    assert response.get_json()["error"]["details"] == [{"field": field}]


def test_end_of_session_events_are_recorded(web: Flask) -> None:
    _hop(web, "")
    client = web.test_client()
    form = load_form("at_ussd_end_notification.form")
    assert client.post(at_url("ussd/events"), data=form).status_code == 200
    failed = load_form("at_ussd_end_notification_failed.form")
    assert client.post(at_url("ussd/events"), data=failed).status_code == 200
    first, second = ussd_sessions(web)
    assert (first.end_status, first.duration_ms, first.cost_minor, first.error) == (
        "success",
        18342,
        None,
        None,
    )
    assert first.hops == 1 and first.ended_at is not None
    assert (second.end_status, second.hops, second.phone) == ("failed", 0, "+254722000222")
    assert second.error == "Error while contacting the application: read timed out"
    odd = {**form, "status": "Aborted", "durationInMillis": "18342.0", "phoneNumber": "x"}
    assert client.post(at_url("ussd/events"), data=odd).status_code == 200
    (first, _) = ussd_sessions(web)
    assert (first.end_status, first.provider_status, first.duration_ms) == (
        "unknown",
        "Aborted",
        18342,
    )
    assert first.phone == "+254711000111"  # the hop's number stands; the odd one is in raw
    assert client.post(at_url("ussd/events"), data={**form, "sessionId": ""}).status_code == 400


def test_ussd_end_cost_with_a_currency_is_kept_in_minor_units(web: Flask) -> None:
    form = {**load_form("at_ussd_end_notification.form"), "cost": "KES 0.1050"}
    assert web.test_client().post(at_url("ussd/events"), data=form).status_code == 200
    (session,) = ussd_sessions(web)
    assert (session.cost_minor, session.cost_currency) == (11, "KES")


@pytest.mark.parametrize(
    ("language", "apology"), [("sw", "END Samahani"), ("fr", "END Désolé"), (None, "END Sorry")]
)
def test_an_internal_failure_is_an_end_apology_in_the_workers_language(
    tmp_path: Path, language: str | None, apology: str
) -> None:
    # A real fault: the USSD sessions table is gone from this database.
    url = f"sqlite:///{tmp_path / 'broken.db'}"
    upgrade(url)
    app = gateway_app(url)
    runtime = runtime_of(app)
    with runtime.engine.begin() as connection:
        if language:
            connection.execute(
                text(
                    "INSERT INTO workers (msisdn, country, language, status, created_at, updated_at)"
                    " VALUES ('+254711000111', 'KE', :lang, 'active', '2026-01-01', '2026-01-01')"
                ),
                {"lang": language},
            )
        connection.execute(text("DROP TABLE ussd_sessions"))
    status, mimetype, body = _hop(app, "")
    assert (status, mimetype) == (200, "text/plain")
    assert body.startswith(apology) and ussd_length(body) <= USSD_MAX_BODY
    runtime.engine.dispose()


def test_with_the_whole_database_down_the_apology_is_in_the_default_language(
    tmp_path: Path,
) -> None:
    app = gateway_app(f"sqlite:///{tmp_path / 'missing-dir' / 'none.db'}", default_language="sw")
    status, _, body = _hop(app, "")
    assert status == 200 and body.startswith("END Samahani")
    runtime_of(app).engine.dispose()


def test_a_hop_takes_a_handful_of_queries_and_no_network(web: Flask) -> None:
    from sqlalchemy import event

    _hop(web, "")
    statements: list[str] = []
    engine = runtime_of(web).engine

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        # The embedded default's flow store is a table too; its statements are counted apart.
        kind = "kv " if "kv_entries" in statement else ""
        statements.append(kind + statement.split()[0])

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert _hop(web, "1")[0] == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # Lock the worker (a write first, see handle_ussd_hop; it returns the worker's row),
    # find the session, update the session: here the flow's step (choosing English)
    # needs no more. The store reads the flow state, writes the new one and forgets any
    # resume point; the per-number hop limit counts the hop in one upsert.
    assert [s for s in statements if not s.startswith("kv ")] == [
        "UPDATE",
        "SELECT",
        "UPDATE",
    ]
    assert sorted(s for s in statements if s.startswith("kv ")) == [
        "kv DELETE",
        "kv INSERT",
        "kv INSERT",
        "kv SELECT",
    ]


def test_an_answer_containing_a_star_reaches_the_flow_whole(web: Flask) -> None:
    # The language menu takes "1" (English). Split at the last "*", the answer "2*1"
    # would read as "1"; taken whole (what follows the seen text) it is not a choice.
    _hop(web, "")
    assert _hop(web, "2*1")[2].startswith("CON Please reply with a number from 1 to 3.")


def test_every_hop_is_timed_for_prometheus(web: Flask) -> None:
    from core.metrics import USSD_REQUEST_SECONDS

    def hops_counted() -> float:
        metrics = list(USSD_REQUEST_SECONDS.labels(provider="africastalking").collect())
        samples = metrics[0].samples
        return next(s.value for s in samples if s.name.endswith("_count"))

    before = hops_counted()
    _hop(web, "")
    _hop(web, "1")
    assert hops_counted() == before + 2
