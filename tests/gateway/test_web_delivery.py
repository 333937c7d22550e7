"""Delivery reports and status callbacks at the HTTP level: the status machine, failures, opt-outs."""

from __future__ import annotations

import logging

import pytest
from flask import Flask

from tests.gateway.payloads import load_form
from tests.gateway.web import (
    at_url,
    events,
    outbox,
    provider_status_of,
    sent_message,
    status_of,
    twilio_post,
    worker,
)


def test_at_delivery_reports_move_the_message_and_never_back(web: Flask) -> None:
    client = web.test_client()
    success = load_form("at_delivery_report_success.form")
    message_id = sent_message(web, "africastalking", success["id"], success["phoneNumber"])
    assert (
        client.post(at_url("sms/delivery"), data={**success, "status": "Sent"}).status_code == 200
    )
    assert status_of(web, message_id) == ("sent", None)
    assert client.post(at_url("sms/delivery"), data=success).status_code == 200
    assert status_of(web, message_id)[0] == "delivered"
    # A late "Failed" and a stale "Buffered" after the verdict change nothing.
    for late in ("Failed", "Buffered", "Success"):
        assert (
            client.post(at_url("sms/delivery"), data={**success, "status": late}).status_code == 200
        )
    assert status_of(web, message_id) == ("delivered", None)
    assert len(events(web)) == 5  # every report is still kept as it arrived


def test_at_failure_reports_keep_the_reason_and_blacklisting_opts_the_worker_out(
    web: Flask,
) -> None:
    client = web.test_client()
    failed = load_form("at_delivery_report_failed.form")
    message_id = sent_message(web, "africastalking", failed["id"], failed["phoneNumber"])
    client.post(
        at_url("sms"), data={**load_form("at_sms_inbound.form"), "from": failed["phoneNumber"]}
    )
    outbox(web)
    response = client.post(
        at_url("sms/delivery"),
        data={**failed, "status": "Rejected", "failureReason": "UserInBlacklist"},
    )
    assert response.status_code == 200
    assert status_of(web, message_id) == ("failed", "UserInBlacklist")
    assert worker(web, failed["phoneNumber"]).opted_out_at is not None


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"id": ""}, "bad_webhook"),
        ({"status": ""}, "bad_webhook"),
        ({"id": "x" * 101}, "bad_webhook"),
    ],
)
def test_reports_without_what_identifies_them_are_a_clear_400(
    web: Flask, form: dict, code: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    data = {**load_form("at_delivery_report_success.form"), **form}
    response = web.test_client().post(at_url("sms/delivery"), data=data)
    assert (response.status_code, response.get_json()["error"]["code"]) == (400, code)
    assert "bad_webhook" in caplog.text and events(web) == []


@pytest.mark.parametrize(
    ("form", "status", "provider_status"),
    [
        ({"status": "Teleported"}, "accepted", "Teleported"),
        ({"status": "101"}, "accepted", "101"),
        ({"phoneNumber": "12", "retryCount": "1.0"}, "delivered", "Success"),
        ({"phoneNumber": "2021", "networkCode": "6" * 30}, "delivered", "Success"),
    ],
)
def test_odd_reports_are_kept_not_refused(
    web: Flask, form: dict, status: str, provider_status: str
) -> None:
    data = {**load_form("at_delivery_report_success.form"), **form}
    message_id = sent_message(web, "africastalking", data["id"], "+254711000111")
    response = web.test_client().post(at_url("sms/delivery"), data=data)
    assert response.status_code == 200
    assert status_of(web, message_id)[0] == status
    assert provider_status_of(web, message_id) == provider_status
    assert events(web)[0].payload == data


def test_a_report_for_a_message_we_never_sent_is_kept_and_answered_200(web: Flask) -> None:
    response = web.test_client().post(
        at_url("sms/delivery"), data=load_form("at_delivery_report_success.form")
    )
    assert response.status_code == 200 and len(events(web)) == 1


def test_twilio_status_callbacks_map_errors_and_never_regress(web: Flask) -> None:
    form = load_form("twilio_status_undelivered.form")
    message_id = sent_message(web, "twilio", form["MessageSid"], form["To"])
    client = web.test_client()
    assert twilio_post(client, "sms/status", {**form, "MessageStatus": "sent"}).status_code == 200
    assert twilio_post(client, "sms/status", form).status_code == 200
    assert status_of(web, message_id) == ("undelivered", "30003")
    assert twilio_post(client, "sms/status", {**form, "MessageStatus": "sent"}).status_code == 200
    assert status_of(web, message_id)[0] == "undelivered"
    unknown = twilio_post(client, "sms/status", {**form, "MessageStatus": "teleported"})
    assert unknown.status_code == 200
    assert status_of(web, message_id)[0] == "undelivered"
    assert provider_status_of(web, message_id) == "teleported"


def test_twilio_opt_out_error_marks_the_worker(web: Flask) -> None:
    form = load_form("twilio_status_undelivered.form")
    twilio_post(
        web.test_client(), "sms", {**load_form("twilio_sms_inbound.form"), "From": form["To"]}
    )
    outbox(web)
    message_id = sent_message(web, "twilio", form["MessageSid"], form["To"])
    twilio_post(
        web.test_client(), "sms/status", {**form, "MessageStatus": "failed", "ErrorCode": "21610"}
    )
    assert status_of(web, message_id) == ("failed", "21610")
    assert worker(web, form["To"]).opted_out_at is not None


def test_every_documented_status_is_accepted_over_http(web: Flask) -> None:
    from gateway.providers import africastalking, twilio

    client = web.test_client()
    at_form = load_form("at_delivery_report_success.form")
    for n, (status, row) in enumerate(africastalking.STATUSES.items()):
        if not status.isalpha():
            continue  # send-response statusCodes, not delivery-report statuses
        message_id = sent_message(web, "africastalking", f"ATX{n}", at_form["phoneNumber"])
        form = {**at_form, "id": f"ATX{n}", "status": status.capitalize()}
        assert client.post(at_url("sms/delivery"), data=form).status_code == 200, status
        assert status_of(web, message_id)[0] == row.status, status
    tw_form = load_form("twilio_status_delivered.form")
    for n, (status, mapped) in enumerate(twilio.STATUSES.items()):
        message_id = sent_message(web, "twilio", f"SM{n}", tw_form["To"])
        form = {**tw_form, "MessageSid": f"SM{n}", "MessageStatus": status}
        response = twilio_post(client, "sms/status", form)
        # A well-formed callback is never refused (a 4xx raises Twilio's 11200 alert).
        assert response.status_code == 200, status
        if mapped == "received":
            # An inbound status for a message we sent is a contradiction: logged, no move.
            assert status_of(web, message_id)[0] == "accepted", status
        else:
            # From "accepted" every outbound status is the same or a step forward.
            assert status_of(web, message_id)[0] == mapped, status
