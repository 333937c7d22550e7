"""Inbound SMS webhooks at the HTTP level: storing, duplicates, tokens, malformed bodies, opt-out."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask

from gateway.models import Message
from tests.gateway.payloads import load_form
from tests.gateway.web import (
    AT_TOKEN,
    at_url,
    events,
    messages,
    outbox,
    runtime_of,
    sent_message,
    status_of,
    worker,
)


def test_at_inbound_sms_is_stored_linked_to_a_new_worker_and_answered(web: Flask) -> None:
    form = load_form("at_sms_inbound.form")
    response = web.test_client().post(at_url("sms"), data=form)
    assert response.status_code == 200
    assert outbox(web) == [
        (
            "+254711000111",
            "Welcome to Kazi! Karibu! Bienvenue!\nChoose language:\n1 English\n2 Kiswahili\n3 Francais",
        )
    ]
    inbound, reply = messages(web)
    new_worker = worker(web, "+254711000111")
    assert (new_worker.country, new_worker.language) == ("KE", "en")
    assert (inbound.direction, inbound.status, inbound.body) == ("in", "received", "TASK 42 YES")
    assert inbound.provider_message_id == form["id"] and inbound.worker_id == new_worker.id
    assert (reply.direction, reply.status, reply.worker_id) == ("out", "accepted", new_worker.id)
    assert [(e.source, e.kind, e.external_id) for e in events(web)] == [
        ("africastalking", "sms", form["id"])
    ]


def test_a_duplicate_inbound_sms_is_200_and_changes_nothing(web: Flask) -> None:
    client, form = web.test_client(), load_form("at_sms_inbound.form")
    assert client.post(at_url("sms"), data=form).status_code == 200
    outbox(web)
    assert client.post(at_url("sms"), data=form).status_code == 200
    assert len(outbox(web)) == 1
    assert len(messages(web)) == 2 and len(events(web)) == 1


def test_without_a_provider_id_the_same_text_is_deduplicated_by_content(
    web: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, form = web.test_client(), load_form("at_sms_inbound.form")
    del form["id"]
    # A provider retry arrives before we answered. Hold the handling job until both
    # posts are in: left to run, the job thread may store our reply in between (a slow
    # or busy test thread), and then the same text is rightly a new answer.
    jobs = runtime_of(web).jobs
    held: list[Any] = []
    monkeypatch.setattr(jobs, "submit", held.append)
    assert client.post(at_url("sms"), data=form).status_code == 200
    assert client.post(at_url("sms"), data=form).status_code == 200
    monkeypatch.undo()
    assert len(held) == 1  # the retry queued nothing
    for spec in held:
        jobs.submit(spec)
    assert client.post(at_url("sms"), data={**form, "text": "HELP"}).status_code == 200
    assert [m.body for m in messages(web) if m.direction == "in"] == ["TASK 42 YES", "HELP"]


@pytest.mark.parametrize("token", [None, "", "wrong", AT_TOKEN + "x"])
def test_at_webhooks_refuse_a_missing_or_wrong_token(
    web: Flask, token: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    client = web.test_client()
    with caplog.at_level(logging.WARNING, logger="kazi.webhooks"):
        for path, fixture in [
            ("sms", "at_sms_inbound.form"),
            ("sms/delivery", "at_delivery_report_success.form"),
            ("ussd", "at_ussd_first_dial.form"),
            ("ussd/events", "at_ussd_end_notification.form"),
        ]:
            response = client.post(at_url(path, token), data=load_form(fixture))
            assert response.status_code == 403, path
            assert response.get_json()["error"]["code"] == "forbidden"
    assert "africastalking webhook refused" in caplog.text
    assert messages(web) == [] and events(web) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"from": None}, "from"),
        ({"from": "not-a-number"}, "from"),
        ({"from": "+2547"}, "from"),
        ({"text": None}, "text"),
        ({"to": ""}, "to"),
        ({"text": "x" * 5000}, "text"),
        ({"text": "nul\x00"}, "text"),
    ],
)
def test_malformed_inbound_sms_is_a_400_naming_the_field(
    web: Flask, change: dict[str, str | None], field: str, caplog: pytest.LogCaptureFixture
) -> None:
    form = {**load_form("at_sms_inbound.form"), **change}
    form = {k: v for k, v in form.items() if v is not None}
    with caplog.at_level(logging.INFO, logger="kazi.app"):
        response = web.test_client().post(at_url("sms"), data=form)
    assert response.status_code == 400
    assert f"bad_webhook: webhook field {field!r}" in caplog.text
    assert response.get_json()["error"]["details"] == [{"field": field}]
    assert messages(web) == []


def test_json_and_oversized_bodies_are_4xx_json_not_500(web: Flask) -> None:
    client = web.test_client()
    as_json = client.post(at_url("sms"), json={"from": "+254711000111", "text": "hi"})
    assert as_json.status_code == 400
    huge = client.post(at_url("sms"), data={"text": "x" * (2 * 1024 * 1024)})
    assert (
        huge.status_code == 413 and huge.get_json()["error"]["code"] == "request_entity_too_large"
    )
    huge_ussd = client.post(at_url("ussd"), data={"text": "1" * (2 * 1024 * 1024)})
    assert huge_ussd.status_code == 413


@pytest.mark.parametrize(
    ("keyword", "confirmation"),
    [
        ("STOP", "You will get no more messages from Kazi."),
        ("acha", "You will get no more messages from Kazi."),
        ("Arrêt!", "You will get no more messages from Kazi."),
    ],
)
def test_stop_opts_out_and_only_the_confirmation_goes_out(
    web: Flask, keyword: str, confirmation: str
) -> None:
    client, form = web.test_client(), load_form("at_sms_inbound.form")
    client.post(at_url("sms"), data={**form, "id": "m1", "text": keyword})
    assert outbox(web)[-1][1].startswith(confirmation)
    assert worker(web, form["from"]).opted_out_at is not None
    # Anything else to the opted-out number stays unsent: replies and other services alike.
    client.post(at_url("sms"), data={**form, "id": "m2", "text": "TASK"})
    from gateway.outbound import send_sms

    with runtime_of(web).sessions.begin() as session:
        receipt = send_sms(session, phone=form["from"], body="Receipt", provider="console")
    assert len(outbox(web)) == 1
    assert status_of(web, receipt.id) == ("failed", "opted_out")
    client.post(at_url("sms"), data={**form, "id": "m3", "text": "START"})
    assert outbox(web)[-1][1].startswith("Welcome back to Kazi.")
    assert worker(web, form["from"]).opted_out_at is None


def test_a_message_queued_before_stop_is_not_sent_after_it(web: Flask) -> None:
    from gateway.jobs import send_message

    form = load_form("at_sms_inbound.form")
    web.test_client().post(at_url("sms"), data={**form, "text": "STOP"})
    outbox(web)
    runtime = runtime_of(web)
    message_id = sent_message(web, "console", "unused", form["from"])
    with runtime.sessions.begin() as session:
        message = session.get_one(Message, message_id)
        message.status, message.provider_message_id = "queued", None
        # Queued before the worker said STOP: the job must still honour the opt-out.
        opted_out_at = worker(web, form["from"]).opted_out_at
        assert opted_out_at is not None
        message.created_at = opted_out_at.replace(year=2020)
    with runtime.activated():
        send_message(message_id)
    assert status_of(web, message_id) == ("failed", "opted_out")
    assert len(outbox(web)) == 1


def test_rerunning_the_inbound_job_answers_once(web: Flask) -> None:
    from gateway.jobs import handle_inbound_sms

    web.test_client().post(at_url("sms"), data=load_form("at_sms_inbound.form"))
    assert len(outbox(web)) == 1
    inbound = next(m for m in messages(web) if m.direction == "in")
    with runtime_of(web).activated():
        handle_inbound_sms(inbound.id)
    assert len(outbox(web)) == 1 and len(messages(web)) == 2


PHONE_A = "+254711000111"


def test_the_message_log_pages_newest_first_by_number(web: Flask) -> None:
    from gateway.services import message_log

    client, form = web.test_client(), load_form("at_sms_inbound.form")
    client.post(at_url("sms"), data={**form, "id": "a", "text": "HELP"})
    client.post(at_url("sms"), data={**form, "id": "b", "from": "+254722000222"})
    outbox(web)
    with runtime_of(web).sessions() as session:
        log = message_log(session, phone="0711 000 111")
        assert len(message_log(session)) == 4
        assert [(m.direction, m.body[:12]) for m in log] == [
            ("out", "Kazi SMS: TA"),
            ("in", "HELP"),
        ]
        assert [
            m.id for m in message_log(session, phone=PHONE_A, before_id=log[0].id, limit=1)
        ] == [log[1].id]


@pytest.mark.parametrize("dated", [True, False])
def test_the_same_text_after_our_reply_is_a_new_answer_not_a_duplicate(
    web: Flask, dated: bool
) -> None:
    client, form = web.test_client(), load_form("at_sms_inbound.form")
    del form["id"]
    if not dated:
        del form["date"]
    client.post(at_url("sms"), data={**form, "text": "1"})
    outbox(web)  # our reply went out in between
    later = {"date": "2026-01-15 10:03:10"} if dated else {}
    client.post(at_url("sms"), data={**form, "text": "1", **later})
    assert [m.body for m in messages(web) if m.direction == "in"] == ["1", "1"]


def test_an_sms_without_id_replayed_after_our_reply_is_stored_once(web: Flask) -> None:
    # AT retries carry the message's own date: sender, recipient, date and text match.
    client, form = web.test_client(), load_form("at_sms_inbound.form")
    del form["id"]
    assert client.post(at_url("sms"), data=form).status_code == 200
    replies = len(outbox(web))
    for _ in range(2):
        assert client.post(at_url("sms"), data=form).status_code == 200
    assert len(outbox(web)) == replies
    assert [m.body for m in messages(web) if m.direction == "in"] == [form["text"]]
    # Another recipient (our other shortcode) is another message.
    assert client.post(at_url("sms"), data={**form, "to": "40405"}).status_code == 200
    assert len([m for m in messages(web) if m.direction == "in"]) == 2


@pytest.mark.parametrize("with_id", [True, False])
def test_the_same_sms_posted_concurrently_is_stored_once(web: Flask, with_id: bool) -> None:
    import threading

    form = load_form("at_sms_inbound.form")
    if not with_id:
        del form["id"]  # only the sender's lock stands between the four
        # A known worker: a first contact would serialise them on the unique number.
        earlier = {**form, "text": "HELP", "date": "2026-01-15 09:00:00"}
        assert web.test_client().post(at_url("sms"), data=earlier).status_code == 200
        outbox(web)
    codes: list[int] = []
    barrier = threading.Barrier(4)

    def post() -> None:
        client = web.test_client()
        barrier.wait()
        codes.append(client.post(at_url("sms"), data=form).status_code)

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [200] * 4
    assert len(outbox(web)) == (1 if with_id else 2)
    assert [m.body for m in messages(web) if m.direction == "in"][-1:] == [form["text"]]
    assert len([m for m in messages(web) if m.direction == "in"]) == (1 if with_id else 2)
