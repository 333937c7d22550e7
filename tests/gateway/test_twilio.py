"""Twilio's webhook payloads and signatures: parsing, the status table, X-Twilio-Signature."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest
from werkzeug.datastructures import MultiDict

from gateway.delivery import DeliveryStatus
from gateway.errors import BadWebhook
from gateway.inbound import DeliveryReport, InboundSms
from gateway.providers import twilio as tw
from tests.gateway.payloads import form_pairs, load_form

S = DeliveryStatus
SID = "AC00000000000000000000000000000007"
TOKEN = "fake_auth_token_0123456789abcdef"
API = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"


# --- webhooks ------------------------------------------------------------------


def test_parse_inbound_sms() -> None:
    form = load_form("twilio_sms_inbound.form")
    parsed = tw.parse_inbound_sms(form)
    assert parsed == InboundSms(
        provider="twilio",
        provider_message_id="SM00000000000000000000000000000001",
        sender="+254711000111",
        recipient="+15550100123",  # our own number: kept as Twilio wrote it
        text="TASK 42 YES",
        received_at=None,
        segments=1,
    )
    assert parsed.raw == form


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "twilio_status_delivered.form",
            DeliveryReport(
                provider="twilio",
                provider_message_id="SM000000000000000000000000000000a1",
                status=S.DELIVERED,
                provider_status="delivered",
                phone="+254711000111",
            ),
        ),
        (
            "twilio_status_undelivered.form",
            DeliveryReport(
                provider="twilio",
                provider_message_id="SM000000000000000000000000000000a2",
                status=S.UNDELIVERED,
                provider_status="undelivered",
                phone="+254722000222",
                failure_reason="30003",
            ),
        ),
    ],
)
def test_parse_status_callback(name: str, expected: DeliveryReport) -> None:
    assert tw.parse_status_callback(load_form(name)) == expected


def test_status_callback_error_21610_marks_opted_out() -> None:
    form = load_form("twilio_status_undelivered.form") | {
        "MessageStatus": "failed",
        "ErrorCode": "21610",
    }
    report = tw.parse_status_callback(form)
    assert report.opted_out and report.status is S.FAILED


def test_status_falls_back_to_deprecated_fields() -> None:
    form = load_form("twilio_status_delivered.form")
    del form["MessageStatus"], form["MessageSid"]
    report = tw.parse_status_callback(form)
    assert (report.status, report.provider_message_id) == (S.DELIVERED, form["SmsSid"])


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("accepted", S.ACCEPTED),
        ("scheduled", S.ACCEPTED),
        ("queued", S.ACCEPTED),
        ("sending", S.ACCEPTED),
        ("sent", S.SENT),
        ("delivered", S.DELIVERED),
        ("read", S.DELIVERED),
        ("undelivered", S.UNDELIVERED),
        ("partially_delivered", S.UNDELIVERED),
        ("failed", S.FAILED),
        ("canceled", S.FAILED),
        ("receiving", S.RECEIVED),
        ("received", S.RECEIVED),
        ("Delivered", S.DELIVERED),
    ],
)
def test_status_table(status: str, expected: S) -> None:
    assert tw.map_status(status) is expected


def test_table_covers_exactly_the_documented_enum() -> None:
    assert set(tw.STATUSES) == {
        "accepted", "scheduled", "queued", "sending", "sent", "delivered", "undelivered",
        "failed", "receiving", "received", "read", "canceled", "partially_delivered",
    }  # fmt: skip


@pytest.mark.parametrize("status", ["cancelled", "wired", "ok"])
def test_unknown_status_is_kept_as_unknown(status: str) -> None:
    form = load_form("twilio_status_delivered.form") | {"MessageStatus": status}
    report = tw.parse_status_callback(form)
    assert (report.status, report.provider_status) == (None, status)


def test_missing_status_is_refused() -> None:
    form = load_form("twilio_status_delivered.form") | {"MessageStatus": ""}
    del form["SmsStatus"]
    with pytest.raises(BadWebhook, match="MessageStatus"):
        tw.parse_status_callback(form)


@pytest.mark.parametrize(
    ("field", "value", "attr", "expected"),
    [
        ("To", "whatsapp:+254711000111", "phone", "+254711000111"),
        ("To", "2021", "phone", None),
        ("ErrorCode", "30003x", "failure_reason", None),
        ("ErrorCode", "30003.0", "failure_reason", "30003"),
        ("NumSegments", "2.0", "segments", 2),
    ],
)
def test_status_callback_optional_fields_are_lenient(
    field: str, value: str, attr: str, expected: object
) -> None:
    form = load_form("twilio_status_undelivered.form") | {field: value}
    report = tw.parse_status_callback(form)
    assert getattr(report, attr) == expected
    assert report.status is S.UNDELIVERED


def test_whatsapp_sender_is_accepted_with_its_channel() -> None:
    form = load_form("twilio_sms_inbound.form") | {"From": "whatsapp:+254711000111"}
    sms = tw.parse_inbound_sms(form)
    assert (sms.sender, sms.channel) == ("+254711000111", "whatsapp")
    assert tw.parse_inbound_sms(load_form("twilio_sms_inbound.form")).channel == "sms"


@pytest.mark.parametrize(
    ("name", "parser", "remove", "field"),
    [
        ("twilio_sms_inbound.form", tw.parse_inbound_sms, ["From"], "From"),
        ("twilio_sms_inbound.form", tw.parse_inbound_sms, ["To"], "To"),
        ("twilio_sms_inbound.form", tw.parse_inbound_sms, ["Body"], "Body"),
        (
            "twilio_sms_inbound.form",
            tw.parse_inbound_sms,
            ["MessageSid", "SmsSid", "SmsMessageSid"],
            "MessageSid",
        ),
        (
            "twilio_status_delivered.form",
            tw.parse_status_callback,
            ["MessageSid", "SmsSid"],
            "MessageSid",
        ),  # fmt: skip
    ],
)
def test_missing_fields_are_named(
    name: str, parser: Callable[[Mapping[str, object]], object], remove: list[str], field: str
) -> None:
    form = load_form(name)
    for key in remove:
        del form[key]
    with pytest.raises(BadWebhook) as info:
        parser(form)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("From", "+2547110001"),
        ("From", "whatsapp:+2547110001"),
        ("MessageSid", "S" * 101),
        ("Body", "x" * 5000),
    ],  # fmt: skip
)
def test_bad_inbound_values_are_named(field: str, value: str) -> None:
    form = load_form("twilio_sms_inbound.form") | {field: value}
    with pytest.raises(BadWebhook) as info:
        tw.parse_inbound_sms(form)
    assert info.value.field == field


@pytest.mark.parametrize("body", ["STOP", "😀 ndiyo", "1*2#", ""])
def test_awkward_bodies_survive(body: str) -> None:
    form = load_form("twilio_sms_inbound.form") | {"Body": body}
    assert tw.parse_inbound_sms(form).text == body


# --- signatures ----------------------------------------------------------------

DOCS_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
Params = dict[str, str] | str  # the parameters themselves, or a fixture form's name
VECTORS: list[tuple[str, str, Params, str]] = [
    ("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", DOCS_PARAMS,
     "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
    (TOKEN, "https://gw.example.com/hooks/twilio/sms", "twilio_sms_inbound.form",
     "vPxWyj8Qf2UzJys2nUNl4JlEdx8="),
    (TOKEN, "https://gw.example.com/hooks/twilio/status?msg=42",
     "twilio_status_undelivered.form", "FqqdTrc3htUeVjoRI1XL55zhIzs="),
    (TOKEN, "https://gw.example.com/hooks/twilio/status?msg=41",
     "twilio_status_delivered.form", "58L2rPeNEdvYMCTpRwLFXzggr5k="),
]  # fmt: skip


def _params(source: Params) -> MultiDict[str, str]:
    pairs = list(source.items()) if isinstance(source, dict) else form_pairs(source)
    return MultiDict(pairs)


@pytest.mark.parametrize(("token", "url", "source", "signature"), VECTORS)
def test_signature_vectors(token: str, url: str, source: Params, signature: str) -> None:
    form = _params(source)
    assert tw.twilio_signature_valid(token, url, form, signature)
    assert tw.twilio_signature_valid(token, url, form.to_dict(), signature)  # plain dict too
    # Adding :443 still passes (the validator tries with and without the port).
    assert tw.twilio_signature_valid(token, url.replace(".com/", ".com:443/", 1), form, signature)


@pytest.mark.parametrize(("token", "url", "source", "signature"), VECTORS[1:])
def test_signature_negative_cases(token: str, url: str, source: str, signature: str) -> None:
    form = _params(source)
    changed = form.copy()
    changed["To"] = changed["To"][:-1] + "9"
    assert not tw.twilio_signature_valid(token, url, changed, signature)
    assert not tw.twilio_signature_valid(token, url.replace("https:", "http:"), form, signature)
    assert not tw.twilio_signature_valid(token, url + "/", form, signature)
    assert not tw.twilio_signature_valid(token[:-1], url, form, signature)
    assert not tw.twilio_signature_valid(token, url, form, "")
    assert not tw.twilio_signature_valid(token, url, form, None)
    assert not tw.twilio_signature_valid("", url, form, signature)


def test_dropping_an_empty_pair_breaks_the_signature() -> None:
    token, url, source, signature = VECTORS[1]
    form = _params(source)
    del form["FromZip"]
    assert not tw.twilio_signature_valid(token, url, form, signature)


def test_url_without_query_fails() -> None:
    token, url, source, signature = VECTORS[2]
    assert not tw.twilio_signature_valid(token, url.split("?")[0], _params(source), signature)


@pytest.mark.parametrize(
    ("path", "base", "expected"),
    [
        ("/hooks/twilio/sms", "https://gw.example.com", "https://gw.example.com/hooks/twilio/sms"),
        ("/hooks/twilio/sms?", "https://gw.example.com/", "https://gw.example.com/hooks/twilio/sms"),
        ("/hooks/twilio/status?msg=42", "https://gw.example.com",
         "https://gw.example.com/hooks/twilio/status?msg=42"),
        ("/webhooks/twilio/sms?a=1&b=%20x", "https://example.org/kazi/",
         "https://example.org/kazi/webhooks/twilio/sms?a=1&b=%20x"),
        ("hooks/x", "http://localhost:5000", "http://localhost:5000/hooks/x"),
    ],
)  # fmt: skip
def test_public_url_for(path: str, base: str, expected: str) -> None:
    assert tw.public_url_for(path, base) == expected


def test_public_url_for_behind_proxy_validates_vector() -> None:
    # The app sees http://10.0.0.5:8000/...; the rebuilt public URL validates.
    token, _, source, signature = VECTORS[2]
    url = tw.public_url_for("/hooks/twilio/status?msg=42", "https://gw.example.com")
    assert tw.twilio_signature_valid(token, url, _params(source), signature)


@pytest.mark.parametrize("base", ["gw.example.com", "ftp://gw.example.com", ""])
def test_public_url_for_rejects_relative_base(base: str) -> None:
    with pytest.raises(ValueError):
        tw.public_url_for("/hooks", base)
