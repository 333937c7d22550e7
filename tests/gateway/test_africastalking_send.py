from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import parse_qsl

import pytest
import requests
import responses

from gateway.delivery import DeliveryStatus
from gateway.errors import PermanentSendError, SendError, TemporarySendError
from gateway.providers.africastalking import AfricasTalkingProvider, interpret_send_response
from tests.gateway.payloads import load_json

LIVE = "https://api.africastalking.com/version1/messaging"
SANDBOX = "https://api.sandbox.africastalking.com/version1/messaging"


def _recipient(number: str, code: int, status: str, message_id: str = "ATXid_1") -> dict:
    cost = "KES 0.8000" if code < 200 else "0"
    return {"statusCode": code, "number": number, "status": status, "cost": cost,
            "messageId": message_id if code < 200 else "None"}  # fmt: skip


def _answer(*recipients: dict, message: str = "Sent to 1/1") -> dict:
    return {"SMSMessageData": {"Message": message, "Recipients": list(recipients)}}


def _form(call: responses.Call) -> dict[str, str]:
    body = call.request.body
    text = body.decode() if isinstance(body, bytes) else str(body)
    return dict(parse_qsl(text, keep_blank_values=True))


@responses.activate
def test_send_posts_the_documented_request_and_trusts_status_code() -> None:
    responses.post(LIVE, json=_answer(_recipient("+254711000111", 101, "Success")), status=201)
    provider = AfricasTalkingProvider("kazi", "secret-key", sender_id="KAZI")

    result = provider.send("0711 000 111", "Kazi: new task. Reply 1 or 2")

    call = responses.calls[0]
    assert call.request.method == "POST"
    assert call.request.url == LIVE
    assert call.request.headers["apiKey"] == "secret-key"
    assert call.request.headers["Accept"] == "application/json"
    assert call.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert _form(call) == {
        "username": "kazi",
        "to": "+254711000111",
        "message": "Kazi: new task. Reply 1 or 2",
        "bulkSMSMode": "1",
        "from": "KAZI",
    }
    assert result.provider_message_id == "ATXid_1"
    assert result.status is DeliveryStatus.ACCEPTED
    assert (result.cost_currency, result.cost_amount) == ("KES", Decimal("0.8000"))
    assert (result.segments, result.encoding) == (1, "GSM-7")


@responses.activate
def test_sandbox_username_uses_sandbox_host_and_no_sender() -> None:
    responses.post(SANDBOX, json=_answer(_recipient("+254711000111", 100, "Success")), status=201)
    AfricasTalkingProvider("sandbox", "k").send("+254711000111", "hi")
    assert responses.calls[0].request.url == SANDBOX
    assert "from" not in _form(responses.calls[0])


@responses.activate
def test_json_with_charset_is_still_understood() -> None:
    # The SDK returns raw text unless the content type is exactly application/json.
    responses.post(
        LIVE,
        body=json.dumps(_answer(_recipient("+254711000111", 102, "Queued"))),
        status=201,
        content_type="application/json; charset=utf-8",
    )
    result = AfricasTalkingProvider("kazi", "k").send("+254711000111", "hi")
    assert result.status is DeliveryStatus.ACCEPTED


@pytest.mark.parametrize(
    ("code", "status", "reason", "opted_out"),
    [
        (401, "RiskHold", "risk_hold", False),
        (402, "InvalidSenderId", "invalid_sender_id", False),
        (403, "InvalidPhoneNumber", "invalid_number", False),
        (404, "UnsupportedNumberType", "unsupported_number_type", False),
        (406, "UserInBlacklist", "blacklisted", True),
        (409, "DoNotDisturbRejection", "do_not_disturb", True),
        (502, "RejectedByGateway", "rejected", False),
        (408, "SomethingNew", "unknown_status", False),  # unknown: never retried blindly
    ],
)
@responses.activate
def test_permanent_recipient_codes(code: int, status: str, reason: str, opted_out: bool) -> None:
    # "status" says Success on purpose: only statusCode is trusted.
    entry = _recipient("+254711000111", code, "Success")
    responses.post(LIVE, json=_answer(entry), status=201)
    with pytest.raises(PermanentSendError) as info:
        AfricasTalkingProvider("kazi", "k").send("+254711000111", "hi")
    assert (info.value.reason, info.value.opted_out) == (reason, opted_out)
    assert info.value.provider_code == str(code)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (405, "insufficient_balance"),
        (407, "could_not_route"),
        (500, "provider_error"),
        (501, "provider_error"),
    ],  # fmt: skip
)
@responses.activate
def test_temporary_recipient_codes(code: int, reason: str) -> None:
    responses.post(LIVE, json=_answer(_recipient("+254711000111", code, "x")), status=201)
    with pytest.raises(TemporarySendError) as info:
        AfricasTalkingProvider("kazi", "k").send("+254711000111", "hi")
    assert info.value.reason == reason
    assert not info.value.maybe_sent


@responses.activate
def test_invalid_sender_whole_request_failure_is_permanent() -> None:
    responses.post(LIVE, json=load_json("at_sms_send_response_invalid_sender.json"), status=201)
    with pytest.raises(PermanentSendError) as info:
        AfricasTalkingProvider("kazi", "k", sender_id="NOPE").send("+254711000111", "hi")
    assert (info.value.reason, info.value.provider_code) == ("invalid_sender_id", "402")


@pytest.mark.parametrize(
    ("message", "error", "reason"),
    [
        ("InsufficientBalance", TemporarySendError, "insufficient_balance"),
        ("UserInBlacklist", PermanentSendError, "blacklisted"),
        ("Sent", TemporarySendError, "request_refused"),  # not a failure name
        ("Something odd", TemporarySendError, "request_refused"),  # nothing was accepted
    ],
)
def test_whole_request_refusals_by_message(
    message: str, error: type[SendError], reason: str
) -> None:
    payload = {"SMSMessageData": {"Message": message, "Recipients": []}}
    (outcome,) = interpret_send_response(payload, ["+254711000111"], "hi")
    assert isinstance(outcome.error, error) and outcome.error.reason == reason


@responses.activate
def test_bad_api_key_is_permanent() -> None:
    responses.post(
        LIVE, body="The supplied authentication is invalid", status=401, content_type="text/plain"
    )
    with pytest.raises(PermanentSendError) as info:
        AfricasTalkingProvider("kazi", "wrong").send("+254711000111", "hi")
    assert info.value.reason == "auth_failed"


@pytest.mark.parametrize("status", [500, 502, 503, 429])
@responses.activate
def test_server_errors_and_throttling_are_temporary(status: int) -> None:
    responses.post(LIVE, body="Service Unavailable", status=status, content_type="text/plain")
    with pytest.raises(TemporarySendError) as info:
        AfricasTalkingProvider("kazi", "k").send("+254711000111", "hi")
    assert not info.value.maybe_sent


@pytest.mark.parametrize(
    ("exc", "maybe_sent"),
    [
        (requests.ConnectTimeout("connect timed out"), False),
        (requests.ConnectionError("Caused by NewConnectionError: refused"), False),
        (requests.ReadTimeout("read timed out"), True),
        (requests.ConnectionError("Connection aborted: RemoteDisconnected"), True),
    ],
)
@responses.activate
def test_network_errors_are_temporary(exc: Exception, maybe_sent: bool) -> None:
    responses.post(LIVE, body=exc)
    with pytest.raises(TemporarySendError) as info:
        AfricasTalkingProvider("kazi", "k").send("+254711000111", "hi")
    assert info.value.reason == "network"
    assert info.value.maybe_sent is maybe_sent


@responses.activate
def test_unreadable_2xx_is_temporary_and_maybe_sent() -> None:
    responses.post(LIVE, body="<xml/>", status=201, content_type="application/xml")
    with pytest.raises(TemporarySendError) as info:
        AfricasTalkingProvider("kazi", "k").send("+254711000111", "hi")
    assert info.value.maybe_sent


def test_invalid_number_is_refused_before_any_request() -> None:
    with responses.RequestsMock() as mock, pytest.raises(PermanentSendError) as info:
        AfricasTalkingProvider("kazi", "k").send("0712", "hi")
    assert info.value.reason == "invalid_number"
    assert len(mock.calls) == 0


def test_documented_mixed_response_maps_each_recipient() -> None:
    payload = load_json("at_sms_send_response.json")
    numbers = ["+254711000111", "+25471100011"]
    ok, bad = interpret_send_response(payload, numbers, "hi")
    assert ok.result is not None and ok.result.provider_message_id.startswith("ATXid_1a2b")
    assert isinstance(bad.error, PermanentSendError) and bad.error.reason == "invalid_number"


@responses.activate
def test_bulk_batches_and_keeps_input_order() -> None:
    def reply(request: requests.PreparedRequest) -> tuple[int, dict, str]:
        numbers = dict(parse_qsl(str(request.body)))["to"].split(",")
        entries = [_recipient(n, 101, "Success", f"id-{n[-3:]}") for n in numbers]
        return 201, {"Content-Type": "application/json"}, json.dumps(_answer(*entries))

    responses.add_callback(responses.POST, LIVE, callback=reply)
    recipients = [f"+254711000{i:03d}" for i in range(5)] + ["bogus"]
    provider = AfricasTalkingProvider("kazi", "k", batch_size=2)

    outcomes = provider.send_bulk(recipients, "broadcast")

    assert [_form(c)["to"] for c in responses.calls] == [
        "+254711000000,+254711000001",
        "+254711000002,+254711000003",
        "+254711000004",
    ]
    assert [_form(c).get("enqueue") for c in responses.calls] == ["1", "1", None]
    assert [o.to for o in outcomes] == recipients
    assert [o.result.provider_message_id for o in outcomes[:5] if o.result] == [
        f"id-{i:03d}" for i in range(5)
    ]
    assert isinstance(outcomes[5].error, PermanentSendError)


@responses.activate
def test_bulk_batch_failure_is_given_to_that_batch_only() -> None:
    responses.post(LIVE, json=_answer(_recipient("+254711000000", 101, "Success")), status=201)
    responses.post(LIVE, body=requests.ConnectTimeout("down"))
    outcomes = AfricasTalkingProvider("kazi", "k", batch_size=1).send_bulk(
        ["+254711000000", "+254711000001"], "hi"
    )
    assert outcomes[0].result is not None
    assert isinstance(outcomes[1].error, TemporarySendError)
