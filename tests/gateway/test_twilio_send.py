"""Sending through the twilio library: the exact request it makes and how its errors are classified."""

from __future__ import annotations

import base64
from urllib.parse import parse_qsl

import pytest
import requests
import responses

from gateway.delivery import DeliveryStatus
from gateway.errors import PermanentSendError, TemporarySendError
from gateway.providers import twilio as tw

S = DeliveryStatus
SID = "AC00000000000000000000000000000007"
TOKEN = "fake_auth_token_0123456789abcdef"
API = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"


def _created(status: str = "queued", segments: str = "1") -> dict:
    return {
        "sid": "SM000000000000000000000000000000b1",
        "status": status,
        "num_segments": segments,
        "price": None,
        "price_unit": "USD",
        "to": "+254711000111",
        "body": "hi",
    }


def _form(call: responses.Call) -> dict[str, str]:
    return dict(parse_qsl(str(call.request.body), keep_blank_values=True))


@responses.activate
def test_send_posts_the_documented_request() -> None:
    responses.post(API, json=_created(), status=201)
    provider = tw.TwilioProvider(SID, TOKEN, from_number="+15550100123")

    result = provider.send("0711000111", "Kazi: task 42", callback_url="https://gw/cb?m=7")

    call = responses.calls[0]
    assert call.request.method == "POST"
    assert call.request.url == API
    expected_auth = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert call.request.headers["Authorization"] == expected_auth
    assert _form(call) == {
        "To": "+254711000111",
        "Body": "Kazi: task 42",
        "From": "+15550100123",
        "StatusCallback": "https://gw/cb?m=7",
    }
    assert result.provider_message_id == "SM000000000000000000000000000000b1"
    assert (result.status, result.segments, result.cost) == (S.ACCEPTED, 1, None)


@responses.activate
def test_send_with_messaging_service_and_no_callback() -> None:
    responses.post(API, json=_created("accepted"), status=201)
    provider = tw.TwilioProvider(SID, TOKEN, messaging_service_sid="MG0009")
    provider.send("+254711000111", "hi")
    assert _form(responses.calls[0]) == {
        "To": "+254711000111",
        "Body": "hi",
        "MessagingServiceSid": "MG0009",
    }


def _error(code: int | None, status: int) -> dict:
    return {"code": code, "message": "nope", "more_info": "https://twil.io", "status": status}


@pytest.mark.parametrize(
    ("code", "status", "reason", "opted_out"),
    [
        (21211, 400, "invalid_number", False),
        (21610, 400, "opted_out", True),
        (21614, 400, "not_mobile", False),
        (21612, 400, "unroutable", False),
        (21408, 400, "region_not_enabled", False),
        (21606, 400, "invalid_sender_id", False),
        (20003, 401, "auth_failed", False),
        (21617, 400, "body_too_long", False),
        (21999, 400, "rejected", False),  # unknown 4xx: resending the same request fails again
    ],
)
@responses.activate
def test_permanent_errors(code: int, status: int, reason: str, opted_out: bool) -> None:
    responses.post(API, json=_error(code, status), status=status)
    with pytest.raises(PermanentSendError) as info:
        tw.TwilioProvider(SID, TOKEN, from_number="+15550100123").send("+254711000111", "hi")
    assert (info.value.reason, info.value.opted_out) == (reason, opted_out)
    assert info.value.provider_code == str(code)


@pytest.mark.parametrize(
    ("code", "status", "reason"),
    [
        (20429, 429, "rate_limited"),
        (None, 429, "rate_limited"),
        (21611, 400, "queue_full"),
        (None, 500, "provider_error"),
        (20500, 503, "provider_error"),
    ],
)
@responses.activate
def test_temporary_errors(code: int | None, status: int, reason: str) -> None:
    responses.post(API, json=_error(code, status), status=status)
    with pytest.raises(TemporarySendError) as info:
        tw.TwilioProvider(SID, TOKEN, from_number="+15550100123").send("+254711000111", "hi")
    assert info.value.reason == reason


@responses.activate
def test_network_errors_are_temporary() -> None:
    responses.post(API, body=requests.ReadTimeout("slow"))
    with pytest.raises(TemporarySendError) as info:
        tw.TwilioProvider(SID, TOKEN, from_number="+15550100123").send("+254711000111", "hi")
    assert info.value.maybe_sent


def test_invalid_number_is_refused_before_any_request() -> None:
    with responses.RequestsMock() as mock, pytest.raises(PermanentSendError):
        tw.TwilioProvider(SID, TOKEN, from_number="+15550100123").send("12", "hi")
    assert len(mock.calls) == 0


@responses.activate
def test_bulk_sends_one_request_each_and_collects_errors() -> None:
    responses.post(API, json=_created(), status=201)
    responses.post(API, json=_error(21610, 400), status=400)
    outcomes = tw.TwilioProvider(SID, TOKEN, from_number="+1555").send_bulk(
        ["+254711000111", "+254711000222"], "hi"
    )
    assert outcomes[0].result is not None
    assert isinstance(outcomes[1].error, PermanentSendError) and outcomes[1].error.opted_out


def test_provider_needs_a_sender() -> None:
    with pytest.raises(ValueError):
        tw.TwilioProvider(SID, TOKEN)


@responses.activate
def test_odd_initial_status_after_creation_does_not_raise() -> None:
    # Raising here would make the job retry a message Twilio already has.
    responses.post(API, json=_created("brand_new_state"), status=201)
    result = tw.TwilioProvider(SID, TOKEN, from_number="+1555").send("+254711000111", "hi")
    assert result.status is S.ACCEPTED
