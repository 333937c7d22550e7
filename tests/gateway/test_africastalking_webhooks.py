from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from gateway.delivery import DeliveryStatus
from gateway.errors import BadWebhook, UnknownProviderStatus
from gateway.inbound import DeliveryReport, InboundSms, UssdEndStatus, UssdRequest, UssdSessionEnd
from gateway.providers import africastalking as at
from tests.gateway.payloads import load_form

Parser = Callable[[Mapping[str, object]], object]

S = DeliveryStatus


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "at_ussd_first_dial.form",
            UssdRequest(
                "africastalking",
                "ATUid_0c1f5e2a9b8d4e7f0011223344556677",
                "*384*1234#",
                "+254711000111",
                "63902",
                "",
            ),
        ),
        (
            "at_ussd_nested.form",
            UssdRequest(
                "africastalking",
                "ATUid_0c1f5e2a9b8d4e7f0011223344556677",
                "*384*1234#",
                "+254711000111",
                "63902",
                "1*42*2",
            ),
        ),
    ],
)
def test_parse_ussd_request(name: str, expected: UssdRequest) -> None:
    form = load_form(name)
    parsed = at.parse_ussd_request(form)
    assert parsed == expected
    assert parsed.raw == form


@pytest.mark.parametrize(
    ("name", "status", "phone", "network", "duration", "hops", "final", "last", "error"),
    [
        (
            "at_ussd_end_notification.form",
            UssdEndStatus.SUCCESS,
            "+254711000111",
            "63902",
            18342,
            4,
            "1*42*2",
            "END Thanks! Answer recorded. KES 2 added to your balance.",
            None,
        ),
        (
            "at_ussd_end_notification_incomplete.form",
            UssdEndStatus.INCOMPLETE,
            "+254733000333",
            "63903",
            121004,
            2,
            "1",
            "CON Task 42: Is this a photo of a cow? 1. Yes 2. No 0. Back",
            None,
        ),
        (
            "at_ussd_end_notification_failed.form",
            UssdEndStatus.FAILED,
            "+254722000222",
            "63902",
            9120,
            1,
            "",
            None,
            "Error while contacting the application: read timed out",
        ),
    ],
)
def test_parse_ussd_end(
    name: str,
    status: UssdEndStatus,
    phone: str,
    network: str,
    duration: int,
    hops: int,
    final: str,
    last: str | None,
    error: str | None,
) -> None:
    form = load_form(name)
    end = at.parse_ussd_end(form)
    assert isinstance(end, UssdSessionEnd)
    assert (end.session_id, end.service_code) == (form["sessionId"], "*384*1234#")
    assert (end.status, end.phone, end.network_code) == (status, phone, network)
    assert (end.duration_ms, end.hops, end.final_input) == (duration, hops, final)
    assert (end.last_response, end.error) == (last, error)
    assert (end.cost, end.cost_amount, end.cost_currency) == ("0.0000", Decimal("0.0000"), None)
    assert end.ended_at is not None and end.ended_at.tzinfo is UTC


def test_ussd_end_cost_with_currency() -> None:
    form = load_form("at_ussd_end_notification.form") | {"cost": "KES 0.10"}
    end = at.parse_ussd_end(form)
    assert (end.cost_currency, end.cost_amount) == ("KES", Decimal("0.10"))


def test_parse_inbound_sms() -> None:
    form = load_form("at_sms_inbound.form")
    assert at.parse_inbound_sms(form) == InboundSms(
        provider="africastalking",
        provider_message_id="0b7c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3",
        sender="+254711000111",
        recipient="40404",
        text="TASK 42 YES",
        received_at=datetime(2026, 1, 15, 10, 2, 44, tzinfo=UTC),
        network_code="63902",
        link_id="0f1e2d3c-4b5a-4968-8776-655443322110",
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "at_delivery_report_success.form",
            DeliveryReport(
                provider="africastalking",
                provider_message_id="ATXid_1a2b3c4d5e6f708192a3b4c5d6e7f809",
                status=S.DELIVERED,
                provider_status="Success",
                phone="+254711000111",
                network_code="63902",
                retry_count=0,
            ),
        ),
        (
            "at_delivery_report_failed.form",
            DeliveryReport(
                provider="africastalking",
                provider_message_id="ATXid_9f8e7d6c5b4a39281706f5e4d3c2b1a0",
                status=S.UNDELIVERED,
                provider_status="Failed",
                phone="+254722000222",
                failure_reason="DeliveryFailure",
                network_code="63902",
                retry_count=0,
            ),
        ),
    ],
)
def test_parse_delivery_report(name: str, expected: DeliveryReport) -> None:
    assert at.parse_delivery_report(load_form(name)) == expected


@pytest.mark.parametrize("reason", ["UserInBlackList", "userinblacklist", "DoNotDisturbRejection"])
def test_blacklist_failure_reason_marks_opted_out(reason: str) -> None:
    form = load_form("at_delivery_report_failed.form") | {"status": "Rejected"}
    report = at.parse_delivery_report(form | {"failureReason": reason})
    assert report.opted_out and report.status is S.FAILED and report.failure_reason == reason


def test_other_failure_reasons_are_not_opt_outs() -> None:
    for reason in ("DeliveryFailure", "UserIsInactive", "NotNetworkSubcriber"):
        form = load_form("at_delivery_report_failed.form") | {"failureReason": reason}
        assert not at.parse_delivery_report(form).opted_out


# Every documented status: delivery-report names and send-response codes.
@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("Sent", S.SENT),
        ("Submitted", S.SENT),
        ("Buffered", S.SENT),
        ("Success", S.DELIVERED),
        ("Failed", S.UNDELIVERED),
        ("AbsentSubscriber", S.UNDELIVERED),
        ("Expired", S.UNDELIVERED),
        ("Rejected", S.FAILED),
        ("SUCCESS", S.DELIVERED),
        ("100", S.ACCEPTED),
        ("101", S.ACCEPTED),
        ("102", S.ACCEPTED),
        ("401", S.FAILED),
        ("402", S.FAILED),
        ("403", S.FAILED),
        ("404", S.FAILED),
        ("405", S.ERRORED),
        ("406", S.FAILED),
        ("407", S.ERRORED),
        ("409", S.FAILED),
        ("500", S.ERRORED),
        ("501", S.ERRORED),
        ("502", S.FAILED),
    ],
)
def test_status_table(status: str, expected: S) -> None:
    assert at.map_status(status) is expected


def test_table_keys_are_exactly_the_documented_ones() -> None:
    names = {"sent", "submitted", "buffered", "success", "failed", "absentsubscriber"}
    names |= {"expired", "rejected"}
    codes = {"100", "101", "102", "401", "402", "403", "404", "405", "406", "407", "409"}
    codes |= {"500", "501", "502"}
    assert set(at.STATUSES) == names | codes
    assert {k for k, row in at.STATUSES.items() if row.opted_out} == {"406", "409"}


@pytest.mark.parametrize("status", ["Delivered", "", "408", "Queued!"])
def test_unknown_statuses_are_refused(status: str) -> None:
    with pytest.raises(UnknownProviderStatus) as info:
        at.map_status(status)
    assert info.value.http_status == 400


@pytest.mark.parametrize("status", ["Teleported", "101"])
def test_unknown_status_in_a_report_is_kept_as_unknown(
    status: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A send statusCode does not belong in a report: unknown too, never a 400 that
    # would throw the report away.
    form = load_form("at_delivery_report_success.form") | {"status": status}
    report = at.parse_delivery_report(form)
    assert (report.status, report.provider_status) == (None, status)
    assert report.raw["status"] == status
    assert status in caplog.text


def test_unknown_ussd_end_status_is_kept_as_unknown() -> None:
    form = load_form("at_ussd_end_notification.form") | {"status": "Aborted"}
    end = at.parse_ussd_end(form)
    assert (end.status, end.provider_status) == (UssdEndStatus.UNKNOWN, "Aborted")


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("durationInMillis", "18342.0", 18342),
        ("durationInMillis", "18342", 18342),
        ("durationInMillis", "12.5s", None),
        ("durationInMillis", "12.5", None),
        ("hopsCount", "-1", None),
        ("hopsCount", "4.0", 4),
        ("hopsCount", "1e999", None),
        ("hopsCount", "NaN", None),
        ("hopsCount", "٣", None),
    ],
)
def test_ussd_end_counts_are_read_leniently(
    field: str, value: str, expected: int | None, caplog: pytest.LogCaptureFixture
) -> None:
    end = at.parse_ussd_end(load_form("at_ussd_end_notification.form") | {field: value})
    got = end.duration_ms if field == "durationInMillis" else end.hops
    assert got == expected
    assert (expected is None) == (field in caplog.text)


def test_ussd_end_with_an_unparseable_number_is_kept() -> None:
    end = at.parse_ussd_end(load_form("at_ussd_end_notification.form") | {"phoneNumber": "abc"})
    assert end.phone is None and end.raw["phoneNumber"] == "abc"


@pytest.mark.parametrize(
    ("field", "value", "attr", "expected"),
    [
        ("retryCount", "1.0", "retry_count", 1),
        ("retryCount", "x", "retry_count", None),
        ("phoneNumber", "abc", "phone", None),
        ("phoneNumber", "2021", "phone", None),
        ("phoneNumber", "0711000111", "phone", "+254711000111"),
        ("networkCode", "bad\x00", "network_code", None),
    ],
)
def test_delivery_report_optional_fields_are_lenient(
    field: str, value: str, attr: str, expected: object
) -> None:
    form = load_form("at_delivery_report_success.form") | {field: value}
    report = at.parse_delivery_report(form)
    assert getattr(report, attr) == expected
    assert report.status is S.DELIVERED


@pytest.mark.parametrize(
    ("name", "parser", "field"),
    [
        ("at_ussd_nested.form", at.parse_ussd_request, "sessionId"),
        ("at_ussd_nested.form", at.parse_ussd_request, "phoneNumber"),
        ("at_ussd_nested.form", at.parse_ussd_request, "serviceCode"),
        ("at_ussd_end_notification.form", at.parse_ussd_end, "sessionId"),
        ("at_ussd_end_notification.form", at.parse_ussd_end, "status"),
        ("at_sms_inbound.form", at.parse_inbound_sms, "from"),
        ("at_sms_inbound.form", at.parse_inbound_sms, "to"),
        ("at_sms_inbound.form", at.parse_inbound_sms, "text"),
        ("at_delivery_report_success.form", at.parse_delivery_report, "id"),
        ("at_delivery_report_success.form", at.parse_delivery_report, "status"),
    ],
)
def test_missing_field_is_named(name: str, parser: Parser, field: str) -> None:
    form = load_form(name)
    del form[field]
    with pytest.raises(BadWebhook) as info:
        parser(form)
    assert info.value.field == field
    assert field in info.value.message
    assert info.value.http_status == 400


@pytest.mark.parametrize(
    ("name", "parser", "field", "value"),
    [
        ("at_ussd_nested.form", at.parse_ussd_request, "phoneNumber", "0712"),
        ("at_ussd_nested.form", at.parse_ussd_request, "phoneNumber", "+2547110001119999"),
        ("at_ussd_nested.form", at.parse_ussd_request, "phoneNumber", "not-a-number"),
        ("at_ussd_nested.form", at.parse_ussd_request, "sessionId", "   "),
        ("at_sms_inbound.form", at.parse_inbound_sms, "from", "+25471100011"),
        ("at_sms_inbound.form", at.parse_inbound_sms, "from", "*384#"),
        ("at_delivery_report_success.form", at.parse_delivery_report, "id", "x" * 101),
        ("at_ussd_end_notification.form", at.parse_ussd_end, "sessionId", "s" * 101),
        ("at_sms_inbound.form", at.parse_inbound_sms, "text", "x" * 5000),
        ("at_ussd_nested.form", at.parse_ussd_request, "text", "1*" * 3000),
        ("at_sms_inbound.form", at.parse_inbound_sms, "text", "bad\x00byte"),
    ],
)
def test_bad_values_are_named(name: str, parser: Parser, field: str, value: str) -> None:
    form = load_form(name) | {field: value}
    with pytest.raises(BadWebhook) as info:
        parser(form)
    assert info.value.field == field


def test_wrong_type_is_named() -> None:
    form: dict[str, object] = dict(load_form("at_sms_inbound.form"))
    form["text"] = ["TASK", "42"]
    with pytest.raises(BadWebhook, match="expected text") as info:
        at.parse_inbound_sms(form)
    assert info.value.field == "text"


@pytest.mark.parametrize(
    "text",
    ["Habari 😀👍🏽", "1*2*3", "#", "*#*", "a=b&c=d", "É" * 1600, "line1\nline2", ""],
)
def test_awkward_but_valid_sms_text_survives(text: str) -> None:
    form = load_form("at_sms_inbound.form") | {"text": text}
    assert at.parse_inbound_sms(form).text == text


def test_ussd_text_keeps_star_and_hash_and_missing_text_is_first_hop() -> None:
    form = load_form("at_ussd_nested.form") | {"text": "1*5*3#"}
    assert at.parse_ussd_request(form).text == "1*5*3#"
    del form["text"]
    assert at.parse_ussd_request(form).text == ""


def test_unparseable_date_is_none_not_an_error() -> None:
    form = load_form("at_sms_inbound.form") | {"date": "15/01/2026 10:02"}
    assert at.parse_inbound_sms(form).received_at is None


def test_national_number_in_webhook_becomes_e164() -> None:
    form = load_form("at_ussd_nested.form") | {"phoneNumber": "0711000111"}
    assert at.parse_ussd_request(form).phone == "+254711000111"


def test_parse_optout_notification() -> None:
    notice = at.parse_optout_notification({"senderId": "KAZI", "phoneNumber": "+254711000111"})
    assert (notice.phone, notice.sender_id) == ("+254711000111", "KAZI")
    with pytest.raises(BadWebhook, match="phoneNumber"):
        at.parse_optout_notification({"senderId": "KAZI"})
