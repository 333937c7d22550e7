"""SMS webhooks at the HTTP level: inbound, duplicates, delivery reports, tokens and signatures."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from core.webhooks import WebhookEvent
from gateway.models import Message
from tests.gateway.payloads import load_form
from tests.gateway.web import (
    AT_TOKEN,
    at_url,
    close_app,
    gateway_app,
    messages,
    outbox,
    runtime_of,
    twilio_post,
    worker,
)


@pytest.fixture
def web(committed_url: str) -> Iterator[Flask]:
    flask_app = gateway_app(committed_url)
    yield flask_app
    close_app(flask_app)


def _events(app: Flask) -> list[WebhookEvent]:
    with runtime_of(app).sessions() as session:
        return list(session.scalars(select(WebhookEvent)))


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
    assert new_worker is not None and (new_worker.country, new_worker.language) == ("KE", "en")
    assert (inbound.direction, inbound.status, inbound.body) == ("in", "received", "TASK 42 YES")
    assert inbound.provider_message_id == form["id"] and inbound.worker_id == new_worker.id
    assert (reply.direction, reply.status, reply.worker_id) == ("out", "accepted", new_worker.id)
    assert [(e.source, e.kind, e.external_id) for e in _events(web)] == [
        ("africastalking", "sms", form["id"])
    ]


def test_a_duplicate_inbound_sms_is_200_and_changes_nothing(web: Flask) -> None:
    client, form = web.test_client(), load_form("at_sms_inbound.form")
    assert client.post(at_url("sms"), data=form).status_code == 200
    outbox(web)
    assert client.post(at_url("sms"), data=form).status_code == 200
    assert len(outbox(web)) == 1
    assert len(messages(web)) == 2 and len(_events(web)) == 1


def test_without_a_provider_id_the_same_text_is_deduplicated_by_content(web: Flask) -> None:
    client, form = web.test_client(), load_form("at_sms_inbound.form")
    del form["id"]
    assert client.post(at_url("sms"), data=form).status_code == 200
    assert client.post(at_url("sms"), data=form).status_code == 200
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
    assert messages(web) == [] and _events(web) == []


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


def _sent_message(web: Flask, provider: str, provider_id: str, phone: str) -> int:
    """An outbound message as the send job leaves it: accepted with the provider's id."""
    with runtime_of(web).sessions.begin() as session:
        message = Message(
            direction="out",
            provider=provider,
            provider_message_id=provider_id,
            phone=phone,
            body="Task ready",
            status="accepted",
        )
        session.add(message)
        session.flush()
        return message.id


def _status(web: Flask, message_id: int) -> tuple[str, str | None]:
    with runtime_of(web).sessions() as session:
        message = session.get_one(Message, message_id)
        return message.status, message.error


def test_at_delivery_reports_move_the_message_and_never_back(web: Flask) -> None:
    client = web.test_client()
    success = load_form("at_delivery_report_success.form")
    message_id = _sent_message(web, "africastalking", success["id"], success["phoneNumber"])
    assert (
        client.post(at_url("sms/delivery"), data={**success, "status": "Sent"}).status_code == 200
    )
    assert _status(web, message_id) == ("sent", None)
    assert client.post(at_url("sms/delivery"), data=success).status_code == 200
    assert _status(web, message_id)[0] == "delivered"
    # A late "Failed" and a stale "Buffered" after the verdict change nothing.
    for late in ("Failed", "Buffered", "Success"):
        assert (
            client.post(at_url("sms/delivery"), data={**success, "status": late}).status_code == 200
        )
    assert _status(web, message_id) == ("delivered", None)
    assert len(_events(web)) == 5  # every report is still kept as it arrived


def test_at_failure_reports_keep_the_reason_and_blacklisting_opts_the_worker_out(
    web: Flask,
) -> None:
    client = web.test_client()
    failed = load_form("at_delivery_report_failed.form")
    message_id = _sent_message(web, "africastalking", failed["id"], failed["phoneNumber"])
    client.post(
        at_url("sms"), data={**load_form("at_sms_inbound.form"), "from": failed["phoneNumber"]}
    )
    outbox(web)
    response = client.post(
        at_url("sms/delivery"),
        data={**failed, "status": "Rejected", "failureReason": "UserInBlacklist"},
    )
    assert response.status_code == 200
    assert _status(web, message_id) == ("failed", "UserInBlacklist")
    assert worker(web, failed["phoneNumber"]).opted_out_at is not None


@pytest.mark.parametrize(
    ("form", "status", "code"),
    [
        ({"status": "Teleported"}, 400, "unknown_provider_status"),
        ({"status": "101"}, 400, "bad_webhook"),
        ({"id": ""}, 400, "bad_webhook"),
        ({"phoneNumber": "12"}, 400, "bad_webhook"),
    ],
)
def test_bad_delivery_reports_are_a_clear_400(
    web: Flask, form: dict, status: int, code: str
) -> None:
    data = {**load_form("at_delivery_report_success.form"), **form}
    response = web.test_client().post(at_url("sms/delivery"), data=data)
    assert (response.status_code, response.get_json()["error"]["code"]) == (status, code)


def test_a_report_for_a_message_we_never_sent_is_kept_and_answered_200(web: Flask) -> None:
    response = web.test_client().post(
        at_url("sms/delivery"), data=load_form("at_delivery_report_success.form")
    )
    assert response.status_code == 200 and len(_events(web)) == 1


def test_twilio_inbound_sms_with_a_valid_signature_is_stored_and_answered_with_twiml(
    web: Flask,
) -> None:
    form = load_form("twilio_sms_inbound.form")
    response = twilio_post(web.test_client(), "sms", form)
    assert response.status_code == 200 and response.mimetype == "text/xml"
    assert b"<Response></Response>" in response.data
    assert [m.provider_message_id for m in messages(web) if m.direction == "in"] == [
        form["MessageSid"]
    ]
    assert twilio_post(web.test_client(), "sms", form).status_code == 200  # duplicate
    assert len([m for m in messages(web) if m.direction == "in"]) == 1


@pytest.mark.parametrize("tamper", ["no_header", "wrong_token", "changed_body", "http_url"])
def test_twilio_webhooks_refuse_a_bad_signature(
    web: Flask, tamper: str, caplog: pytest.LogCaptureFixture
) -> None:
    from twilio.request_validator import RequestValidator

    form = load_form("twilio_sms_inbound.form")
    url = "/webhooks/twilio/sms"
    signed_url = (
        "http://kazi.example.org" if tamper == "http_url" else "https://kazi.example.org"
    ) + url
    token = "another-token" if tamper == "wrong_token" else "fake_auth_token_0123456789abcdef"
    signature = RequestValidator(token).compute_signature(signed_url, form)
    headers = {} if tamper == "no_header" else {"X-Twilio-Signature": signature}
    body = {**form, "Body": "TASK 43 NO"} if tamper == "changed_body" else form
    with caplog.at_level(logging.WARNING, logger="kazi.gateway.webhooks"):
        response = web.test_client().post(url, data=body, headers=headers)
    assert response.status_code == 403
    assert "twilio webhook refused" in caplog.text
    assert messages(web) == []


def test_twilio_signature_uses_the_public_url_behind_a_proxy(web: Flask) -> None:
    # The proxy speaks plain HTTP to the app on another host; Twilio signed the public URL.
    form = load_form("twilio_status_delivered.form")
    message_id = _sent_message(web, "twilio", form["MessageSid"], form["To"])
    client = web.test_client()
    response = twilio_post(client, "sms/status", form)
    assert response.status_code == 200
    assert _status(web, message_id)[0] == "delivered"


def test_twilio_status_callbacks_map_errors_and_never_regress(web: Flask) -> None:
    form = load_form("twilio_status_undelivered.form")
    message_id = _sent_message(web, "twilio", form["MessageSid"], form["To"])
    client = web.test_client()
    assert twilio_post(client, "sms/status", {**form, "MessageStatus": "sent"}).status_code == 200
    assert twilio_post(client, "sms/status", form).status_code == 200
    assert _status(web, message_id) == ("undelivered", "30003")
    assert twilio_post(client, "sms/status", {**form, "MessageStatus": "sent"}).status_code == 200
    assert _status(web, message_id)[0] == "undelivered"
    unknown = twilio_post(client, "sms/status", {**form, "MessageStatus": "teleported"})
    assert unknown.status_code == 400
    assert unknown.get_json()["error"]["code"] == "unknown_provider_status"


def test_twilio_opt_out_error_marks_the_worker(web: Flask) -> None:
    form = load_form("twilio_status_undelivered.form")
    twilio_post(
        web.test_client(), "sms", {**load_form("twilio_sms_inbound.form"), "From": form["To"]}
    )
    outbox(web)
    message_id = _sent_message(web, "twilio", form["MessageSid"], form["To"])
    twilio_post(
        web.test_client(), "sms/status", {**form, "MessageStatus": "failed", "ErrorCode": "21610"}
    )
    assert _status(web, message_id) == ("failed", "21610")
    assert worker(web, form["To"]).opted_out_at is not None


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
    assert _status(web, receipt.id) == ("failed", "opted_out")
    client.post(at_url("sms"), data={**form, "id": "m3", "text": "START"})
    assert outbox(web)[-1][1].startswith("Welcome back to Kazi.")
    assert worker(web, form["from"]).opted_out_at is None


def test_a_message_queued_before_stop_is_not_sent_after_it(web: Flask) -> None:
    from gateway.jobs import send_message

    form = load_form("at_sms_inbound.form")
    web.test_client().post(at_url("sms"), data={**form, "text": "STOP"})
    outbox(web)
    runtime = runtime_of(web)
    message_id = _sent_message(web, "console", "unused", form["from"])
    with runtime.sessions.begin() as session:
        message = session.get_one(Message, message_id)
        message.status, message.provider_message_id = "queued", None
        # Queued before the worker said STOP: the job must still honour the opt-out.
        message.created_at = worker(web, form["from"]).opted_out_at.replace(year=2020)
    with runtime.activated():
        send_message(message_id)
    assert _status(web, message_id) == ("failed", "opted_out")
    assert len(outbox(web)) == 1


def test_twilio_webhooks_without_a_configured_auth_token_refuse_everything(
    committed_url: str,
) -> None:
    app = gateway_app(committed_url, twilio_auth_token=None)
    form = load_form("twilio_sms_inbound.form")
    assert twilio_post(app.test_client(), "sms", form, token="").status_code == 403
    close_app(app)


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


def test_every_documented_status_is_accepted_over_http(web: Flask) -> None:
    from gateway.providers import africastalking, twilio

    client = web.test_client()
    at_form = load_form("at_delivery_report_success.form")
    for n, (status, row) in enumerate(africastalking.STATUSES.items()):
        if not status.isalpha():
            continue  # send-response statusCodes, not delivery-report statuses
        message_id = _sent_message(web, "africastalking", f"ATX{n}", at_form["phoneNumber"])
        form = {**at_form, "id": f"ATX{n}", "status": status.capitalize()}
        assert client.post(at_url("sms/delivery"), data=form).status_code == 200, status
        assert _status(web, message_id)[0] == row.status, status
    tw_form = load_form("twilio_status_delivered.form")
    for n, (status, mapped) in enumerate(twilio.STATUSES.items()):
        message_id = _sent_message(web, "twilio", f"SM{n}", tw_form["To"])
        form = {**tw_form, "MessageSid": f"SM{n}", "MessageStatus": status}
        response = twilio_post(client, "sms/status", form)
        if mapped == "received":
            # An inbound status for a message we sent is a contradiction, refused clearly.
            assert response.status_code == 409, status
        else:
            assert response.status_code == 200, status
            # From "accepted" every outbound status is the same or a step forward.
            assert _status(web, message_id)[0] == mapped, status


def test_the_same_text_after_our_reply_is_a_new_answer_not_a_duplicate(web: Flask) -> None:
    client, form = web.test_client(), load_form("at_sms_inbound.form")
    del form["id"]
    client.post(at_url("sms"), data={**form, "text": "1"})
    outbox(web)  # our reply went out in between
    client.post(at_url("sms"), data={**form, "text": "1"})
    assert [m.body for m in messages(web) if m.direction == "in"] == ["1", "1"]


def test_the_same_sms_posted_concurrently_is_stored_once(web: Flask) -> None:
    import threading

    form = load_form("at_sms_inbound.form")
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
    assert len(outbox(web)) == 1
    assert len([m for m in messages(web) if m.direction == "in"]) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"NumSegments": "two"}, "NumSegments"),
        ({"From": "+1"}, "From"),
        ({"MessageSid": ""}, "MessageSid"),
    ],
)
def test_malformed_twilio_sms_is_a_400(web: Flask, change: dict[str, str], field: str) -> None:
    form = {**load_form("twilio_sms_inbound.form"), **change}
    if field == "MessageSid":
        form["SmsSid"] = form["SmsMessageSid"] = ""
    response = twilio_post(web.test_client(), "sms", form)
    assert response.status_code == 400
    assert response.get_json()["error"]["details"] == [{"field": field}]
