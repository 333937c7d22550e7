"""Twilio's inbound SMS webhook at the HTTP level: signatures, public URLs, malformed bodies."""

from __future__ import annotations

import logging

import pytest
from flask import Flask

from tests.gateway.payloads import load_form
from tests.gateway.web import (
    close_app,
    gateway_app,
    messages,
    sent_message,
    status_of,
    twilio_post,
)


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
    message_id = sent_message(web, "twilio", form["MessageSid"], form["To"])
    client = web.test_client()
    response = twilio_post(client, "sms/status", form)
    assert response.status_code == 200
    assert status_of(web, message_id)[0] == "delivered"


def test_twilio_webhooks_without_a_configured_auth_token_refuse_everything(
    committed_url: str,
) -> None:
    app = gateway_app(committed_url, twilio_auth_token=None)
    form = load_form("twilio_sms_inbound.form")
    assert twilio_post(app.test_client(), "sms", form, token="").status_code == 403
    close_app(app)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"MessageSid": "SM" * 60}, "MessageSid"),
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
